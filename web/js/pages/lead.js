// One lead: its fields, notes and status; (staff) reassign; the AI's score and reasons;
// the audit trail as a timeline; Lívia's conversation, with "resume" when she is paused.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { onEvent } from "../live.js";
import {
  COLLECTED_LABEL,
  FIELD_LABEL,
  KIND_LABEL,
  SOURCE_LABEL,
  STAGE_LABEL,
  STATUSES,
  STATUS_LABEL,
  TEMPERATURE_LABEL,
  chatJid,
  formatCollected,
  formatDateTime,
  formatMoney,
  formatPhone,
  formatWhen,
} from "../format.js";
import { ErrorBox, Loading, MessageBody, errorText, html, toast, useLoad } from "../ui.js";

export function LeadPage({ params, user }) {
  const id = params[0];
  const staff = user.role !== "consultant";
  const detail = useLoad(() => api(`/api/leads/${encodeURIComponent(id)}`), [id]);
  const consultants = useLoad(() => (staff ? api("/api/consultants").then((r) => r.data) : Promise.resolve([])), []);

  useEffect(
    () =>
      onEvent((frame) => {
        const about = frame.data?.id === id || frame.data?.lead_id === id;
        if ((frame.event.startsWith("kanban:") || frame.event === "livia:stage_changed") && about) detail.reload();
        if (frame.event === "resync") detail.reload();
      }),
    [id],
  );

  if (detail.loading && !detail.data) return html`<${Loading} />`;
  if (!detail.data) return html`<${ErrorBox} error=${detail.error} retry=${detail.reload} />`;
  const { data: lead, interactions, conversation } = detail.data;
  const people = Object.fromEntries((consultants.data || []).map((c) => [c.id, c.name]));
  if (lead.consultant) people[lead.consultant.id] = lead.consultant.name;
  people[user.id] = user.name;

  return html`<article class="lead-page">
    <nav class="crumbs" aria-label="Trilha"><a href="#/">Quadro</a> › <span>${lead.name}</span></nav>
    <div class="page-head">
      <h1>${lead.name}</h1>
      <div class="head-badges">
        <span class=${"status-pill status-" + lead.status}>${STATUS_LABEL[lead.status]}</span>
        ${lead.temperature && html`<span class=${"temp temp-" + lead.temperature}>${TEMPERATURE_LABEL[lead.temperature]}</span>`}
      </div>
    </div>
    <div class="lead-grid">
      <div class="col-main">
        <${LeadForm} lead=${lead} onSaved=${detail.reload} />
        <${Conversation} lead=${lead} conversation=${conversation} staff=${staff} onChange=${detail.reload} />
      </div>
      <aside class="col-side">
        <${Facts} lead=${lead} people=${people} />
        ${staff && html`<${Reassign} lead=${lead} consultants=${consultants.data || []} onSaved=${detail.reload} />`}
        <${Score} lead=${lead} />
        <${Timeline} interactions=${interactions} people=${people} />
      </aside>
    </div>
  </article>`;
}

function Facts({ lead, people }) {
  const consultant = lead.consultant?.name || people[lead.consultant_id];
  return html`<section class="card" aria-labelledby="facts-title">
    <h2 id="facts-title">Dados</h2>
    <dl class="facts">
      <dt>Telefone</dt><dd>${formatPhone(lead.phone)}
        <a class="small" href=${"#/conversas/" + encodeURIComponent(chatJid(lead.phone))}>abrir conversa</a></dd>
      <dt>E-mail</dt><dd>${lead.email || "—"}</dd>
      <dt>Origem</dt><dd>${SOURCE_LABEL[lead.source] || lead.source}</dd>
      <dt>Consultor</dt><dd>${consultant || "sem consultor"}</dd>
      <dt>Criado em</dt><dd>${formatDateTime(lead.created_at)}</dd>
      <dt>Atualizado em</dt><dd>${formatDateTime(lead.updated_at)}</dd>
      <dt>Versão</dt><dd>${lead.version}</dd>
      ${Object.entries(lead.metadata || {})
        .filter(([key]) => key !== "collected")
        .map(([key, value]) => html`<dt>${COLLECTED_LABEL[key] || key}</dt>
          <dd>${typeof value === "object" ? JSON.stringify(value) : formatCollected(key, value)}</dd>`)}
    </dl>
  </section>`;
}

function LeadForm({ lead, onSaved }) {
  const initial = { name: lead.name, email: lead.email || "", notes: lead.notes || "", status: lead.status };
  const [form, setForm] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => setForm(initial), [lead.version]);
  const set = (key) => (event) => setForm((f) => ({ ...f, [key]: event.target.value }));
  const changed = Object.keys(initial).filter((k) => form[k] !== initial[k]);

  async function submit(event) {
    event.preventDefault();
    if (!changed.length) return;
    setBusy(true);
    setError(null);
    const body = { version: lead.version };
    for (const key of changed) body[key] = key === "email" && !form.email.trim() ? null : form[key];
    try {
      await api(`/api/leads/${lead.id}`, { method: "PATCH", body });
      toast("Alterações salvas.", "ok");
      onSaved();
    } catch (failure) {
      setError(failure);
      if (failure.code === "conflict") onSaved();
    }
    setBusy(false);
  }

  return html`<form class="card stack" onSubmit=${submit} aria-labelledby="edit-title">
    <h2 id="edit-title">Lead</h2>
    <div class="row">
      <label>Nome <input required maxlength="255" value=${form.name} onInput=${set("name")} /></label>
      <label>Status
        <select value=${form.status} onChange=${set("status")}>
          ${STATUSES.map((s) => html`<option value=${s}>${STATUS_LABEL[s]}</option>`)}
        </select></label>
    </div>
    <label>E-mail <input type="email" value=${form.email} onInput=${set("email")} /></label>
    <label>Observações <textarea rows="4" value=${form.notes} onInput=${set("notes")}></textarea></label>
    ${error &&
    html`<div class="error-box" role="alert">${error.code === "conflict"
      ? "Alguém alterou este lead enquanto você editava; os dados foram recarregados. Revise e salve de novo."
      : errorText(error)}</div>`}
    <div class="actions">
      <button type="button" class="ghost" disabled=${!changed.length} onClick=${() => setForm(initial)}>Descartar</button>
      <button class="primary" disabled=${busy || !changed.length}>Salvar</button>
    </div>
  </form>`;
}

function Reassign({ lead, consultants, onSaved }) {
  const [choice, setChoice] = useState(lead.consultant_id || "");
  const [busy, setBusy] = useState(false);
  useEffect(() => setChoice(lead.consultant_id || ""), [lead.consultant_id]);
  const eligible = consultants.filter((c) => c.active);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    try {
      await api(`/api/leads/${lead.id}/assign`, { method: "POST", body: { consultant_id: choice } });
      toast("Lead reatribuído.", "ok");
      onSaved();
    } catch (failure) {
      toast(errorText(failure), "error");
    }
    setBusy(false);
  }
  return html`<form class="card stack" onSubmit=${submit} aria-labelledby="assign-title">
    <h2 id="assign-title">Atribuição</h2>
    <label>Consultor responsável
      <select value=${choice} onChange=${(e) => setChoice(e.target.value)} required>
        <option value="" disabled>Escolha…</option>
        ${eligible.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
      </select></label>
    <button class="primary" disabled=${busy || !choice || choice === lead.consultant_id}>Reatribuir</button>
  </form>`;
}

function Score({ lead }) {
  return html`<section class="card" aria-labelledby="score-title">
    <h2 id="score-title">Avaliação da IA</h2>
    ${lead.ai_score == null
      ? html`<p class="muted">Ainda não classificado.</p>`
      : html`<div class="score">
          <div class="score-value" aria-label=${`Pontuação ${lead.ai_score} de 100`}>${lead.ai_score}<small>/100</small></div>
          <meter min="0" max="100" low="40" high="70" optimum="100" value=${lead.ai_score}
            aria-label="Pontuação da IA"></meter>
        </div>
        <h3>Motivos</h3>
        <ul class="reasons">${(lead.ai_reasons || []).map((r) => html`<li>${r}</li>`)}</ul>`}
  </section>`;
}

function describeChange(field, change) {
  const show = (value) => {
    if (value == null || value === "") return "—";
    if (field === "status") return STATUS_LABEL[value] || value;
    if (field === "temperature") return TEMPERATURE_LABEL[value] || value;
    if (Array.isArray(value)) return value.join("; ");
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  };
  if (change && typeof change === "object" && ("before" in change || "after" in change)) {
    return `${FIELD_LABEL[field] || field}: ${show(change.before)} → ${show(change.after)}`;
  }
  return `${FIELD_LABEL[field] || field}: ${show(change)}`;
}

function Timeline({ interactions, people }) {
  return html`<section class="card" aria-labelledby="timeline-title">
    <h2 id="timeline-title">Histórico</h2>
    ${!interactions.length && html`<p class="muted">Sem registros.</p>`}
    <ol class="timeline">
      ${interactions.map(
        (item) => html`<li key=${item.id}>
          <div class="when">${formatDateTime(item.created_at)}</div>
          <div class="what"><strong>${KIND_LABEL[item.kind] || item.kind}</strong>
            <span class="muted"> · ${item.actor_id ? people[item.actor_id] || "usuário" : "sistema"}</span></div>
          <ul class="changes">
            ${Object.entries(item.changes || {})
              .slice(0, 6)
              .map(([field, change]) => html`<li>${describeChange(field, change)}</li>`)}
          </ul>
        </li>`,
      )}
    </ol>
  </section>`;
}

function Conversation({ lead, conversation, staff, onChange }) {
  const [busy, setBusy] = useState(false);
  const collected = conversation?.collected || {};
  const simulation = collected.simulation;
  const fields = useMemo(() => Object.keys(COLLECTED_LABEL).filter((k) => collected[k] != null), [conversation]);
  if (!conversation) {
    return html`<section class="card" aria-labelledby="livia-title"><h2 id="livia-title">Conversa com a Lívia</h2>
      <p class="muted">Este lead não conversou com a Lívia.</p></section>`;
  }
  async function resume() {
    setBusy(true);
    try {
      await api(`/api/leads/${lead.id}/livia/resume`, { method: "POST" });
      toast("A Lívia voltou a atender esta conversa.", "ok");
      onChange();
    } catch (failure) {
      toast(errorText(failure), "error");
    }
    setBusy(false);
  }
  return html`<section class="card livia" aria-labelledby="livia-title">
    <div class="section-head">
      <h2 id="livia-title">Conversa com a Lívia</h2>
      <span class="stage">Etapa: <strong>${STAGE_LABEL[conversation.stage] || conversation.stage}</strong></span>
    </div>
    ${conversation.paused &&
    html`<div class="notice paused" role="status">A Lívia está pausada: uma pessoa respondeu por ela.
      ${staff && html`<button class="primary" disabled=${busy} onClick=${resume}>Retomar Lívia</button>`}</div>`}
    <div class="livia-grid">
      <div>
        <h3>Dados coletados</h3>
        ${fields.length
          ? html`<dl class="facts">${fields.map((k) => html`<dt>${COLLECTED_LABEL[k]}</dt><dd>${formatCollected(k, collected[k])}</dd>`)}</dl>`
          : html`<p class="muted">Nada ainda.</p>`}
      </div>
      <div>
        <h3>Simulação</h3>
        ${simulation ? html`<${Simulation} simulation=${simulation} />` : html`<p class="muted">Ainda não simulada.</p>`}
      </div>
    </div>
    <h3>Transcrição</h3>
    <ol class="transcript" aria-label="Transcrição da conversa">
      ${conversation.messages.map(
        (m, i) => html`<li key=${i} class=${"bubble " + (m.direction === "in" ? "in" : "out") + " by-" + m.author}>
          <span class="author">${m.author === "lead" ? lead.name : m.author === "livia" ? "Lívia" : "Atendente"}</span>
          <${MessageBody} message=${m} />
          <time datetime=${m.timestamp}>${formatWhen(m.timestamp)}</time>
        </li>`,
      )}
    </ol>
  </section>`;
}

function Simulation({ simulation }) {
  const rate = simulation.monthly_rate;
  const rows = [
    ["Sistema", simulation.system],
    ["Taxa mensal", rate != null ? `${(rate * 100).toFixed(2).replace(".", ",")}%` : null],
    ["Primeira parcela", formatMoney(simulation.first_installment)],
    ["Última parcela", simulation.last_installment != null ? formatMoney(simulation.last_installment) : null],
    ["Valor financiado", simulation.financed != null ? formatMoney(simulation.financed) : null],
    ["Total pago", formatMoney(simulation.total_paid)],
    ["Prazo", simulation.term_months ? `${simulation.term_months} meses` : null],
  ].filter(([, v]) => v != null && v !== "—");
  return html`<dl class="facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}
