// Both WhatsApp sessions: status; while pairing (admin) the QR code, refreshed as it
// rotates; logout. With the simulator, a button "scans" the code.

import { useEffect, useState } from "preact/hooks";
import { api, apiBlob, consoleConfig } from "../api.js";
import { onEvent } from "../live.js";
import { SESSION_LABEL, SESSION_STATUS_LABEL, formatDateTime, formatPhone } from "../format.js";
import { ErrorBox, Loading, errorText, html, toast, useLoad } from "../ui.js";

const POLL_MS = 10_000;

export function WhatsAppPage({ user }) {
  const admin = user.role === "admin";
  const sessions = useLoad(() => api("/api/whatsapp/sessions").then((r) => r.data), []);
  const [simulator, setSimulator] = useState(false);
  useEffect(() => {
    consoleConfig().then((c) => setSimulator(Boolean(c.simulator)));
    const off = onEvent((frame) => {
      if (frame.event === "whatsapp:session" || frame.event === "resync") sessions.reload();
    });
    const timer = setInterval(sessions.reload, POLL_MS); // also when no event can reach us
    return () => {
      off();
      clearInterval(timer);
    };
  }, []);

  return html`<section class="whatsapp-page">
    <h1>WhatsApp</h1>
    <p class="muted">Dois números: o dos consultores (conversas com os leads) e o da Lívia (atendimento automático).</p>
    ${sessions.loading && !sessions.data && html`<${Loading} />`}
    <${ErrorBox} error=${sessions.error} retry=${sessions.reload} />
    <div class="session-grid">
      ${(sessions.data || []).map(
        (s) => html`<${SessionCard} key=${s.name} session=${s} admin=${admin}
          simulator=${simulator} onChange=${sessions.reload} />`,
      )}
    </div>
  </section>`;
}

function SessionCard({ session, admin, simulator, onChange }) {
  const pairing = session.status === "pairing";
  const [busy, setBusy] = useState(false);

  async function logout() {
    if (!confirm(`Desconectar o número de ${SESSION_LABEL[session.name]}? Será preciso ler um novo QR code.`)) return;
    setBusy(true);
    try {
      await api(`/api/whatsapp/sessions/${session.name}/logout`, { method: "POST" });
      toast("Sessão desconectada; aguardando novo pareamento.", "ok");
      onChange();
    } catch (failure) {
      toast(errorText(failure), "error");
    }
    setBusy(false);
  }

  async function scan() {
    setBusy(true);
    try {
      await api(`/api/dev/whatsapp/${session.name}/scan`, { method: "POST" });
      toast("QR code lido (simulador).", "ok");
      onChange();
    } catch (failure) {
      toast(errorText(failure), "error");
    }
    setBusy(false);
  }

  return html`<article class="card session" data-session=${session.name} data-session-status=${session.status}
      aria-labelledby=${"session-" + session.name}>
    <header class="section-head">
      <h2 id=${"session-" + session.name}>${SESSION_LABEL[session.name] || session.name}</h2>
      <span class=${"session-status s-" + session.status}>${SESSION_STATUS_LABEL[session.status] || session.status}</span>
    </header>
    <dl class="facts">
      <dt>Número</dt><dd>${session.phone ? formatPhone(session.phone) : "—"}</dd>
      <dt>Desde</dt><dd>${formatDateTime(session.since)}</dd>
    </dl>
    ${pairing && admin && html`<${PairingCode} name=${session.name} onExpired=${onChange} />`}
    ${pairing && !admin && html`<p class="muted">Aguardando um administrador ler o QR code.</p>`}
    ${admin &&
    html`<div class="actions">
      ${pairing && simulator && html`<button class="ghost" disabled=${busy} onClick=${scan}>Simular leitura do QR</button>`}
      ${session.status !== "logged_out" && !pairing &&
      html`<button class="danger" disabled=${busy} onClick=${logout}>Desconectar</button>`}
    </div>`}
  </article>`;
}

function PairingCode({ name, onExpired }) {
  const [code, setCode] = useState(null);
  const [image, setImage] = useState(null);
  const [error, setError] = useState(null);
  const [left, setLeft] = useState(null);

  async function load() {
    try {
      const current = (await api(`/api/whatsapp/sessions/${name}/qr`)).data;
      const blob = await apiBlob(`/api/whatsapp/sessions/${name}/qr.svg`);
      setImage((old) => {
        if (old) URL.revokeObjectURL(old);
        return URL.createObjectURL(blob);
      });
      setCode(current);
      setError(null);
    } catch (failure) {
      if (failure.status === 404) onExpired(); // paired (or logged out) meanwhile
      else setError(failure);
    }
  }

  useEffect(() => {
    load();
    const off = onEvent((frame) => {
      if (frame.event === "whatsapp:session" && frame.data.name === name && frame.data.status === "pairing") load();
    });
    return off;
  }, [name]);

  // A new code as soon as this one expires (codes rotate every ~20 s).
  useEffect(() => {
    if (!code?.expires_at) return;
    const tick = () => {
      const seconds = Math.round((new Date(code.expires_at).getTime() - Date.now()) / 1000);
      setLeft(Math.max(0, seconds));
      if (seconds <= 0) load();
    };
    tick();
    const timer = setInterval(tick, 1000);
    return () => clearInterval(timer);
  }, [code?.expires_at]);

  useEffect(() => () => image && URL.revokeObjectURL(image), [image]);

  return html`<div class="qr" aria-live="polite">
    ${error && html`<p class="error-text">${errorText(error)}</p>`}
    ${image
      ? html`<img class="qr-image" src=${image} width="264" height="264"
          alt=${`QR code de pareamento do número de ${SESSION_LABEL[name] || name}`} data-qr=${code?.qr} />`
      : html`<${Loading} what="Gerando QR code…" />`}
    <p class="muted small">No celular: WhatsApp › Aparelhos conectados › Conectar aparelho, e aponte para o código.
      ${left != null && html` Novo código em ${left} s.`}</p>
  </div>`;
}
