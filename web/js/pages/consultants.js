// The team (admin and manager see it; only an admin creates and edits): name, e-mail,
// role, phone, active, capacity (most open leads at once, for the capacity policy).

import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ROLE_LABEL, formatPhone } from "../format.js";
import { Dialog, ErrorBox, Loading, html, toast, useLoad } from "../ui.js";

const EMPTY = { name: "", email: "", password: "", role: "consultant", phone: "", active: true, max_open_leads: "" };

export function ConsultantsPage({ user }) {
  const admin = user.role === "admin";
  const list = useLoad(() => api("/api/consultants").then((r) => r.data), []);
  const [editing, setEditing] = useState(null); // null | "new" | consultant

  return html`<section class="consultants-page">
    <div class="page-head">
      <h1>Consultores</h1>
      ${admin && html`<button class="primary" onClick=${() => setEditing("new")}>+ Novo consultor</button>`}
    </div>
    ${list.loading && !list.data && html`<${Loading} />`}
    <${ErrorBox} error=${list.error} retry=${list.reload} />
    <div class="table-wrap">
      <table class="table">
        <caption class="sr-only">Equipe</caption>
        <thead><tr><th scope="col">Nome</th><th scope="col">E-mail</th><th scope="col">Perfil</th>
          <th scope="col">Telefone</th><th scope="col">Situação</th><th scope="col">Capacidade</th>
          ${admin && html`<th scope="col"><span class="sr-only">Ações</span></th>`}</tr></thead>
        <tbody>
          ${(list.data || []).map(
            (c) => html`<tr key=${c.id} class=${c.active ? "" : "inactive"} data-consultant-id=${c.id}>
              <th scope="row" data-label="Nome">${c.name}</th>
              <td data-label="E-mail">${c.email}</td>
              <td data-label="Perfil">${ROLE_LABEL[c.role] || c.role}</td>
              <td data-label="Telefone">${c.phone ? formatPhone(c.phone) : "—"}</td>
              <td data-label="Situação"><span class=${"badge " + (c.active ? "ok" : "off")}>${c.active ? "Ativo" : "Inativo"}</span></td>
              <td data-label="Capacidade">${c.max_open_leads ?? "sem limite"}</td>
              ${admin && html`<td><button class="ghost" onClick=${() => setEditing(c)} aria-label=${"Editar " + c.name}>Editar</button></td>`}
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${admin &&
    html`<${ConsultantDialog} consultant=${editing} self=${user}
      onClose=${() => setEditing(null)} onSaved=${() => { setEditing(null); list.reload(); }} />`}
  </section>`;
}

function ConsultantDialog({ consultant, self, onClose, onSaved }) {
  const creating = consultant === "new";
  const open = consultant != null;
  return html`<${Dialog} title=${creating ? "Novo consultor" : "Editar consultor"} open=${open} onClose=${onClose}>
    ${open && html`<${ConsultantForm} key=${creating ? "new" : consultant.id} consultant=${creating ? null : consultant}
      self=${self} onCancel=${onClose} onSaved=${onSaved} />`}
  <//>`;
}

function ConsultantForm({ consultant, self, onCancel, onSaved }) {
  const [form, setForm] = useState(
    consultant
      ? { ...EMPTY, ...consultant, phone: consultant.phone || "", password: "", max_open_leads: consultant.max_open_leads ?? "" }
      : EMPTY,
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (key) => (event) =>
    setForm((f) => ({ ...f, [key]: event.target.type === "checkbox" ? event.target.checked : event.target.value }));

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const capacity = form.max_open_leads === "" ? null : Number(form.max_open_leads);
    try {
      if (consultant) {
        const body = {};
        for (const key of ["name", "role", "active"]) if (form[key] !== consultant[key]) body[key] = form[key];
        if ((form.phone || null) !== (consultant.phone || null)) body.phone = form.phone || null;
        if (capacity !== (consultant.max_open_leads ?? null)) body.max_open_leads = capacity;
        if (form.password) body.password = form.password;
        if (Object.keys(body).length) await api(`/api/consultants/${consultant.id}`, { method: "PATCH", body });
      } else {
        const body = { name: form.name, email: form.email, password: form.password, role: form.role, active: form.active };
        if (form.phone) body.phone = form.phone;
        if (capacity != null) body.max_open_leads = capacity;
        await api("/api/consultants", { method: "POST", body });
      }
      toast("Consultor salvo.", "ok");
      onSaved();
    } catch (failure) {
      setError(failure.code === "conflict" ? { message: "Já existe alguém com este e-mail." } : failure);
    }
    setBusy(false);
  }

  const editingSelf = consultant?.id === self.id;
  return html`<form class="stack" onSubmit=${submit}>
    <label>Nome <input required maxlength="255" value=${form.name} onInput=${set("name")} /></label>
    <label>E-mail <input required type="email" disabled=${Boolean(consultant)} value=${form.email} onInput=${set("email")} /></label>
    <label>${consultant ? "Nova senha (deixe em branco para manter)" : "Senha"}
      <input type="password" autocomplete="new-password" minlength="8" required=${!consultant}
        value=${form.password} onInput=${set("password")} /></label>
    <div class="row">
      <label>Perfil
        <select value=${form.role} onChange=${set("role")} disabled=${editingSelf}>
          ${Object.entries(ROLE_LABEL).map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select></label>
      <label>Telefone (WhatsApp) <input type="tel" placeholder="+55 11 98765-4321" value=${form.phone} onInput=${set("phone")} /></label>
    </div>
    <div class="row">
      <label>Capacidade (leads abertos)
        <input type="number" min="0" max="10000" placeholder="sem limite" value=${form.max_open_leads} onInput=${set("max_open_leads")} /></label>
      <label class="check"><input type="checkbox" checked=${form.active} onChange=${set("active")} disabled=${editingSelf} /> Ativo</label>
    </div>
    ${consultant && html`<p class="muted small">Mudar o perfil, a senha ou desativar encerra as sessões abertas desta pessoa.</p>`}
    <${ErrorBox} error=${error} />
    <div class="actions"><button type="button" class="ghost" onClick=${onCancel}>Cancelar</button>
      <button class="primary" disabled=${busy}>Salvar</button></div>
  </form>`;
}
