// Small pieces every page uses: the template tag, toasts, loading data, dialogs.

import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);

// --- toasts ---------------------------------------------------------------------------

let pushToast = () => {};
let toastId = 0;

/** Shows a short message; `kind` is "info", "ok" or "error". */
export function toast(text, kind = "info") {
  pushToast({ id: ++toastId, text, kind });
}

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    pushToast = (item) => {
      setItems((list) => [...list, item]);
      setTimeout(() => setItems((list) => list.filter((i) => i.id !== item.id)), item.kind === "error" ? 8000 : 4000);
    };
    return () => (pushToast = () => {});
  }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${items.map((i) => html`<div class=${"toast " + i.kind} key=${i.id}>${i.text}</div>`)}
  </div>`;
}

/** What a failed call means to a user, in Portuguese. */
export function errorText(error) {
  const byCode = {
    conflict: "Alguém alterou este registro antes de você.",
    forbidden: "Seu perfil não permite esta ação.",
    not_found: "Não encontrado (ou você não tem acesso).",
    rate_limited: "Muitas requisições; tente de novo em instantes.",
    unavailable: "Serviço indisponível no momento; tente de novo.",
    network: "Sem conexão com o servidor.",
  };
  if (error?.code === "validation_error") return `Dados inválidos: ${error.message}`;
  return byCode[error?.code] || error?.message || "Algo deu errado.";
}

// --- data -----------------------------------------------------------------------------

/** Runs `load` now and whenever `deps` change; `reload()` runs it again. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const generation = useRef(0);
  const run = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const data = await load();
      if (mine === generation.current) setState({ loading: false, data, error: null });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ loading: false, data: s.data, error }));
    }
  }, deps);
  useEffect(() => {
    run();
  }, [run]);
  return { ...state, reload: run, setData: (f) => setState((s) => ({ ...s, data: typeof f === "function" ? f(s.data) : f })) };
}

export function Loading({ what = "Carregando…" }) {
  return html`<p class="muted loading" role="status">${what}</p>`;
}

export function ErrorBox({ error, retry }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert">${errorText(error)}
    ${retry && html` <button class="ghost" onClick=${retry}>Tentar de novo</button>`}</div>`;
}

/** A modal dialog (the native <dialog>: focus trap and Esc for free). */
export function Dialog({ title, open, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return html`<dialog ref=${ref} onClose=${onClose} aria-label=${title}>
    <header class="dialog-head"><h2>${title}</h2>
      <button class="ghost icon-only" aria-label="Fechar" onClick=${onClose}>✕</button></header>
    ${open && children}
  </dialog>`;
}

export function Badge({ kind, children, title }) {
  return html`<span class=${"badge " + (kind || "")} title=${title}>${children}</span>`;
}

/** A message's content: its text, or a voice note as "Áudio" with what it said. */
export function MessageBody({ message }) {
  if (message.media_type !== "audio") return html`<span class="text">${message.text}</span>`;
  return html`<span class="voice-note">
    <span class="voice-label"><span aria-hidden="true">♪ </span>${message.transcript ? "Áudio" : "Áudio sem transcrição"}</span>
    ${message.transcript && html`<span class="text spoken">${message.transcript}</span>`}
  </span>`;
}
