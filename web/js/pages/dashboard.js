// The dashboard: funnel by status, temperature, per consultant, time to first contact and
// Lívia's completion rate. Charts are plain HTML bars: a handful of categories, each with
// its number written beside it, read the same on a phone and by a screen reader.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { onEvent } from "../live.js";
import { STATUSES, STATUS_LABEL, TEMPERATURE_LABEL, formatDuration, formatPercent } from "../format.js";
import { ErrorBox, Loading, html, useLoad } from "../ui.js";

const PERIODS = [
  ["7", "Últimos 7 dias"],
  ["30", "Últimos 30 dias"],
  ["90", "Últimos 90 dias"],
  ["", "Desde o início"],
];

export function DashboardPage({ user }) {
  const [days, setDays] = useState("30");
  const figures = useLoad(() => {
    const since = days ? new Date(Date.now() - Number(days) * 86400_000).toISOString() : null;
    return api("/api/dashboard" + (since ? `?since=${encodeURIComponent(since)}` : "")).then((r) => r.data);
  }, [days]);

  // Numbers follow the board: refetch (at most every 5 s) when leads change.
  useEffect(() => {
    let timer = null;
    const off = onEvent((frame) => {
      if (!frame.event.startsWith("kanban:") || timer) return;
      timer = setTimeout(() => {
        timer = null;
        figures.reload();
      }, 5000);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [days]);

  const d = figures.data;
  return html`<section class="dashboard">
    <div class="page-head">
      <h1>Painel${d?.scope === "own" ? " — meus números" : ""}</h1>
      <label class="inline">Período
        <select value=${days} onChange=${(e) => setDays(e.target.value)}>
          ${PERIODS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select></label>
    </div>
    ${figures.loading && !d && html`<${Loading} />`}
    <${ErrorBox} error=${figures.error} retry=${figures.reload} />
    ${d &&
    html`<div class="kpis">
        <${Kpi} label="Leads no período" value=${d.total} />
        <${Kpi} label="Tempo até o primeiro contato (mediana)" value=${formatDuration(d.first_contact.median_seconds)}
          note=${`média ${formatDuration(d.first_contact.average_seconds)} · ${d.first_contact.contacted} contatados · ${d.first_contact.waiting} aguardando`} />
        <${Kpi} label="Conversas da Lívia concluídas" value=${d.livia && formatPercent(d.livia.completion_rate)}
          note=${d.livia ? `${d.livia.completed} de ${d.livia.conversations} conversas` : "Lívia indisponível no momento"} />
        <${Kpi} label="Ganhos" value=${d.by_status.WON} note=${`${d.by_status.LOST} perdidos`} />
      </div>
      <div class="charts">
        <${Bars} title="Funil por status" items=${STATUSES.map((s) => [STATUS_LABEL[s], d.by_status[s], "status-" + s])} />
        <${Bars} title="Temperatura" items=${[
          ...Object.entries(TEMPERATURE_LABEL).map(([k, l]) => [l, d.by_temperature[k], "temp-bar-" + k]),
          ["Não classificados", d.by_temperature.unclassified, "temp-bar-none"],
        ]} />
      </div>
      <${PerConsultant} rows=${d.consultants} unassigned=${d.unassigned} own=${d.scope === "own"} />`}
  </section>`;
}

function Kpi({ label, value, note }) {
  return html`<div class="card kpi"><div class="kpi-label">${label}</div>
    <div class="kpi-value">${value ?? "—"}</div>${note && html`<div class="kpi-note muted">${note}</div>`}</div>`;
}

function Bars({ title, items }) {
  const max = Math.max(1, ...items.map(([, v]) => v || 0));
  return html`<figure class="card chart">
    <figcaption><h2>${title}</h2></figcaption>
    <ul class="bars">
      ${items.map(
        ([label, value, kind]) => html`<li>
          <span class="bar-label">${label}</span>
          <span class="bar-track" aria-hidden="true"><span class=${"bar " + kind} style=${`width:${((value || 0) / max) * 100}%`}></span></span>
          <span class="bar-value">${value || 0}</span>
        </li>`,
      )}
    </ul>
  </figure>`;
}

function PerConsultant({ rows, unassigned, own }) {
  const max = Math.max(1, ...rows.map((r) => r.assigned));
  return html`<section class="card" aria-labelledby="per-consultant">
    <h2 id="per-consultant">${own ? "Meus leads" : "Por consultor"}</h2>
    ${!rows.length && html`<p class="muted">Nenhum consultor ainda.</p>`}
    <div class="table-wrap">
      <table class="table per-consultant">
        <thead><tr><th scope="col">Consultor</th><th scope="col">Atribuídos</th><th scope="col">Abertos</th>
          <th scope="col">Ganhos</th><th scope="col">Perdidos</th><th scope="col" class="wide">Carteira</th></tr></thead>
        <tbody>
          ${rows.map(
            (r) => html`<tr key=${r.id} class=${r.active ? "" : "inactive"}>
              <th scope="row" data-label="Consultor">${r.name}${r.active ? "" : " (inativo)"}</th>
              <td data-label="Atribuídos">${r.assigned}</td><td data-label="Abertos">${r.open}</td>
              <td data-label="Ganhos">${r.won}</td><td data-label="Perdidos">${r.lost}</td>
              <td class="wide" aria-hidden="true"><span class="stack-bar" style=${`width:${(r.assigned / max) * 100}%`}>
                <span class="seg won" style=${`flex:${r.won}`}></span><span class="seg open" style=${`flex:${r.open}`}></span>
                <span class="seg lost" style=${`flex:${r.lost}`}></span></span></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${!own && html`<p class="muted small">Sem consultor: ${unassigned} lead(s).</p>`}
  </section>`;
}
