// The Kanban: one column per status, live, with drag and drop (SortableJS) and a keyboard
// alternative (Shift+← / Shift+→ on a focused card).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import Sortable from "sortablejs";
import { api } from "../api.js";
import { onEvent } from "../live.js";
import {
  SOURCE_LABEL,
  STATUSES,
  STATUS_LABEL,
  TEMPERATURE_LABEL,
  formatAge,
  formatPhone,
} from "../format.js";
import { Dialog, ErrorBox, errorText, html, toast } from "../ui.js";

const PER_COLUMN = 100;

function matches(lead, filters) {
  if (filters.consultant_id && lead.consultant_id !== filters.consultant_id) return false;
  if (filters.temperature && lead.temperature !== filters.temperature) return false;
  if (filters.source && lead.source !== filters.source) return false;
  const q = filters.q.trim().toLowerCase();
  if (q && ![lead.name, lead.phone, lead.email].some((v) => (v || "").toLowerCase().includes(q))) return false;
  return true;
}

function query(filters, status) {
  const params = new URLSearchParams({ status, page_size: String(PER_COLUMN) });
  for (const key of ["consultant_id", "temperature", "source"]) if (filters[key]) params.set(key, filters[key]);
  if (filters.q.trim()) params.set("q", filters.q.trim());
  return `/api/leads?${params}`;
}

export function BoardPage({ user }) {
  const staff = user.role !== "consultant";
  const [filters, setFilters] = useState({ consultant_id: "", temperature: "", source: "", q: "" });
  const [search, setSearch] = useState("");
  const [leads, setLeads] = useState(new Map());
  const [totals, setTotals] = useState({});
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [consultants, setConsultants] = useState([]);
  const [creating, setCreating] = useState(false);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  // Loads overlap (a filter change, a resync as the socket joins its rooms): only the
  // latest one's pages are shown, with every frame that arrived since it began applied on
  // top (its pages may have been read before them). An older load's answer would put
  // back leads as they were before frames already shown. So one ref: the latest load,
  // with the frames that arrived since it began (null once it answered).
  const latestLoad = useRef({ arrived: null });

  function apply(board, lead) {
    const known = board.get(lead.id);
    if (known && known.version > lead.version) return board; // an older picture
    const next = new Map(board);
    if (matches(lead, filtersRef.current)) next.set(lead.id, lead);
    else next.delete(lead.id);
    return next;
  }

  async function load() {
    const mine = { arrived: [] };
    latestLoad.current = mine;
    setLoading(true);
    try {
      const shown = filtersRef.current;
      const pages = await Promise.all(STATUSES.map((s) => api(query(shown, s))));
      if (latestLoad.current !== mine) return; // a newer load answers for it
      let next = new Map();
      const counts = {};
      pages.forEach((page, i) => {
        counts[STATUSES[i]] = page.total;
        for (const lead of page.data) next.set(lead.id, lead);
      });
      for (const lead of mine.arrived) next = apply(next, lead);
      setLeads(next);
      setTotals(counts);
      setError(null);
    } catch (failure) {
      if (latestLoad.current === mine) setError(failure);
    } finally {
      mine.arrived = null;
      if (latestLoad.current === mine) setLoading(false);
    }
  }

  useEffect(() => {
    load();
  }, [filters]);

  // The search box waits for a pause in typing.
  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.q === search ? f : { ...f, q: search })), 300);
    return () => clearTimeout(timer);
  }, [search]);

  useEffect(() => {
    if (!staff) return;
    api("/api/consultants").then((r) => setConsultants(r.data), () => {});
  }, []);

  useEffect(
    () =>
      onEvent((frame) => {
        if (frame.event === "resync") return load();
        if (!frame.event.startsWith("kanban:")) return;
        const lead = frame.data;
        latestLoad.current.arrived?.push(lead);
        setLeads((current) => apply(current, lead));
      }),
    [],
  );

  async function move(id, status) {
    const lead = leads.get(id);
    if (!lead || lead.status === status) return;
    setLeads((current) => new Map(current).set(id, { ...lead, status, moving: true }));
    try {
      const saved = await api(`/api/leads/${id}`, { method: "PATCH", body: { status, version: lead.version } });
      setLeads((current) => new Map(current).set(id, saved.data));
    } catch (failure) {
      const latest = failure.code === "conflict" && failure.details?.id === id ? failure.details : lead;
      setLeads((current) => new Map(current).set(id, latest));
      const where = STATUS_LABEL[latest.status];
      const why =
        failure.code === "conflict"
          ? `alguém alterou este lead antes de você (versão ${latest.version}).`
          : errorText(failure);
      toast(`Não foi possível mover “${lead.name}” para ${STATUS_LABEL[status]}: ${why} O cartão voltou para ${where}.`, "error");
    }
  }

  const columns = useMemo(() => {
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, []]));
    for (const lead of leads.values()) (byStatus[lead.status] || byStatus.NEW).push(lead);
    for (const list of Object.values(byStatus)) list.sort((a, b) => b.created_at.localeCompare(a.created_at));
    return byStatus;
  }, [leads]);

  const names = useMemo(() => Object.fromEntries(consultants.map((c) => [c.id, c.name])), [consultants]);
  const set = (key) => (event) => setFilters((f) => ({ ...f, [key]: event.target.value }));

  return html`<section class="board-page">
    <div class="page-head">
      <h1>Quadro de leads</h1>
      <button class="primary" onClick=${() => setCreating(true)}>+ Novo lead</button>
    </div>
    <form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label>Buscar
        <input type="search" placeholder="Nome, telefone ou e-mail" value=${search}
          onInput=${(e) => setSearch(e.target.value)} /></label>
      ${staff &&
      html`<label>Consultor
        <select value=${filters.consultant_id} onChange=${set("consultant_id")}>
          <option value="">Todos</option>
          ${consultants.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
        </select></label>`}
      <label>Temperatura
        <select value=${filters.temperature} onChange=${set("temperature")}>
          <option value="">Todas</option>
          ${Object.entries(TEMPERATURE_LABEL).map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select></label>
      <label>Origem
        <select value=${filters.source} onChange=${set("source")}>
          <option value="">Todas</option>
          ${Object.entries(SOURCE_LABEL).map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select></label>
    </form>
    <p class="sr-only" id="board-help">Arraste um cartão para outra coluna, ou foque-o e use Shift + seta para a esquerda ou direita para mudar o status.</p>
    <${ErrorBox} error=${error} retry=${load} />
    <div class=${"board" + (loading ? " is-loading" : "")} aria-busy=${loading}>
      ${STATUSES.map(
        (status) => html`<${Column} key=${status} status=${status} leads=${columns[status]}
          total=${totals[status]} names=${names} onMove=${move} />`,
      )}
    </div>
    <${NewLeadDialog} open=${creating} onClose=${() => setCreating(false)} />
  </section>`;
}

function Column({ status, leads, total, names, onMove }) {
  const list = useRef(null);
  const moveRef = useRef(onMove);
  moveRef.current = onMove;
  useEffect(() => {
    const sortable = Sortable.create(list.current, {
      group: "kanban",
      animation: 120,
      forceFallback: true, // mouse, touch and pen alike (and drivable by tests)
      fallbackTolerance: 4,
      delayOnTouchOnly: true,
      delay: 150,
      filter: ".is-moving",
      onEnd(event) {
        const id = event.item.dataset.leadId;
        const to = event.to.closest("[data-status]").dataset.status;
        // Preact owns these nodes: put the card back and let the state move it.
        if (event.from !== event.to || event.oldIndex !== event.newIndex) {
          event.item.remove();
          event.from.insertBefore(event.item, event.from.children[event.oldIndex] || null);
        }
        if (event.from !== event.to) moveRef.current(id, to);
      },
    });
    return () => sortable.destroy();
  }, []);
  const index = STATUSES.indexOf(status);
  const hidden = (total ?? 0) > leads.length ? total - leads.length : 0;
  return html`<section class=${"column status-" + status} data-status=${status} aria-labelledby=${"col-" + status}>
    <header class="column-head">
      <h2 id=${"col-" + status}>${STATUS_LABEL[status]}</h2>
      <span class="count" aria-label=${`${leads.length} leads`}>${leads.length}</span>
    </header>
    <ul class="cards" ref=${list} aria-describedby="board-help">
      ${leads.map(
        (lead) => html`<${Card} key=${lead.id} lead=${lead} names=${names}
          onKey=${(delta) => {
            const next = STATUSES[index + delta];
            if (next) onMove(lead.id, next);
          }} />`,
      )}
    </ul>
    ${hidden > 0 && html`<p class="muted more">e mais ${hidden} (use os filtros)</p>`}
  </section>`;
}

function Card({ lead, names, onKey }) {
  const consultant = lead.consultant?.name || names[lead.consultant_id];
  function keyDown(event) {
    if (event.shiftKey && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
      event.preventDefault();
      onKey(event.key === "ArrowRight" ? 1 : -1);
    } else if (event.key === "Enter" && event.target === event.currentTarget) {
      location.hash = `#/leads/${lead.id}`;
    }
  }
  return html`<li class=${"card lead-card" + (lead.moving ? " is-moving" : "")} data-lead-id=${lead.id} data-version=${lead.version}
      tabindex="0" onKeyDown=${keyDown} aria-label=${`${lead.name}, ${STATUS_LABEL[lead.status]}`}>
    <div class="card-top">
      <a class="lead-name" href=${"#/leads/" + lead.id} tabindex="-1">${lead.name}</a>
      ${lead.temperature &&
      html`<span class=${"temp temp-" + lead.temperature}>${TEMPERATURE_LABEL[lead.temperature]}</span>`}
    </div>
    <div class="card-line">${formatPhone(lead.phone)}</div>
    <div class="card-line card-meta">
      <span title="Pontuação da IA">${lead.ai_score != null ? `★ ${lead.ai_score}` : "sem pontuação"}</span>
      <span>${consultant || "sem consultor"}</span>
      <span title=${lead.created_at}>${formatAge(lead.created_at)}</span>
    </div>
  </li>`;
}

function NewLeadDialog({ open, onClose }) {
  const [form, setForm] = useState({ name: "", phone: "", email: "", notes: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (key) => (event) => setForm((f) => ({ ...f, [key]: event.target.value }));
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body = { name: form.name, phone: form.phone, source: "manual" };
    if (form.email.trim()) body.email = form.email.trim();
    if (form.notes.trim()) body.notes = form.notes.trim();
    try {
      const created = await api("/api/leads", { method: "POST", body });
      toast(`Lead “${created.data.name}” salvo.`, "ok");
      setForm({ name: "", phone: "", email: "", notes: "" });
      onClose();
    } catch (failure) {
      setError(failure);
    }
    setBusy(false);
  }
  return html`<${Dialog} title="Novo lead" open=${open} onClose=${onClose}>
    <form class="stack" onSubmit=${submit}>
      <label>Nome <input required maxlength="255" value=${form.name} onInput=${set("name")} /></label>
      <label>Telefone <input required type="tel" placeholder="+55 11 98765-4321" value=${form.phone} onInput=${set("phone")} /></label>
      <label>E-mail <input type="email" value=${form.email} onInput=${set("email")} /></label>
      <label>Observações <textarea rows="3" value=${form.notes} onInput=${set("notes")}></textarea></label>
      <${ErrorBox} error=${error} />
      <div class="actions"><button type="button" class="ghost" onClick=${onClose}>Cancelar</button>
        <button class="primary" disabled=${busy}>Salvar</button></div>
    </form>
  <//>`;
}
