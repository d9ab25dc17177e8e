// The consultant session's inbox: chats with unread counts, one conversation with delivery
// ticks, sending, live updates (each listed chat's room is joined).

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { joinRoom, onEvent } from "../live.js";
import { MESSAGE_STATUS_LABEL, formatPhone, formatWhen } from "../format.js";
import { ErrorBox, Loading, MessageBody, errorText, html, toast, useLoad } from "../ui.js";

const TICKS = { pending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
const LIST_REFRESH_MS = 15_000;
const VOICE_NOTE = "[audio]"; // the text WhatsApp's voice notes arrive with

export function InboxPage({ params }) {
  const open = params[0] ? decodeURIComponent(params[0]) : null;
  const chats = useLoad(() => api("/api/chats").then((r) => r.data), []);

  // Live: every listed chat's room, and a periodic look for chats that are new.
  const jids = (chats.data || []).map((c) => c.id).join(",");
  useEffect(() => {
    const leaves = jids ? jids.split(",").map((jid) => joinRoom(`chat:${jid}`)) : [];
    return () => leaves.forEach((leave) => leave());
  }, [jids]);
  useEffect(() => {
    const timer = setInterval(chats.reload, LIST_REFRESH_MS);
    const off = onEvent((frame) => {
      if (frame.event === "whatsapp:message" || frame.event === "resync") chats.reload();
    });
    return () => {
      clearInterval(timer);
      off();
    };
  }, []);

  return html`<section class=${"inbox" + (open ? " has-open" : "")}>
    <div class="chat-list-pane">
      <h1>Conversas</h1>
      ${chats.loading && !chats.data && html`<${Loading} />`}
      <${ErrorBox} error=${chats.error} retry=${chats.reload} />
      ${chats.data && !chats.data.length && html`<p class="muted">Nenhuma conversa ainda.</p>`}
      <ul class="chat-list" aria-label="Conversas">
        ${(chats.data || []).map(
          (chat) => html`<li key=${chat.id} data-chat-id=${chat.id} class=${chat.id === open ? "active" : ""}>
            <a href=${"#/conversas/" + encodeURIComponent(chat.id)} aria-current=${chat.id === open ? "true" : undefined}>
              <span class="chat-name">${formatPhone(chat.name || chat.phone)}</span>
              <time class="chat-time">${formatWhen(chat.timestamp)}</time>
              <span class="chat-last">${chat.last_message === VOICE_NOTE ? "♪ Áudio" : chat.last_message || ""}</span>
              ${chat.unread_count > 0 &&
              html`<span class="unread" aria-label=${`${chat.unread_count} não lidas`}>${chat.unread_count}</span>`}
            </a>
          </li>`,
        )}
      </ul>
    </div>
    <div class="chat-pane">
      ${open
        ? html`<${ChatView} key=${open} jid=${open} chat=${(chats.data || []).find((c) => c.id === open)}
            onRead=${chats.reload} />`
        : html`<p class="muted empty-chat">Escolha uma conversa.</p>`}
    </div>
  </section>`;
}

function ChatView({ jid, chat, onRead }) {
  const messages = useLoad(() => api(`/api/chats/${encodeURIComponent(jid)}/messages?limit=100`).then((r) => r.data), [jid]);
  const [text, setText] = useState("");
  const [sending, setSending] = useState(false);
  const bottom = useRef(null);
  const latest = useRef([]);
  latest.current = messages.data || [];

  useEffect(() => joinRoom(`chat:${jid}`), [jid]);
  useEffect(() => {
    api(`/api/chats/${encodeURIComponent(jid)}/read`, { method: "POST" }).then(onRead, () => {});
  }, [jid]);
  useEffect(
    () =>
      onEvent((frame) => {
        if (frame.event === "resync") return messages.reload();
        if (frame.data?.chat_jid !== jid || frame.data?.session !== "consultant") return;
        if (frame.event === "whatsapp:message") {
          messages.setData((list) =>
            (list || []).some((m) => m.id === frame.data.id) ? list : [...(list || []), { ...frame.data, status: frame.data.direction === "in" ? null : "sent" }],
          );
          // Read as it arrives in the open chat; the list then shows no unread count for it.
          if (frame.data.direction === "in") api(`/api/chats/${encodeURIComponent(jid)}/read`, { method: "POST" }).then(onRead, () => {});
        }
        if (frame.event === "whatsapp:message_status") {
          const known = latest.current.some((m) => m.id === frame.data.id);
          if (!known) return messages.reload(); // it came before our own send returned
          messages.setData((list) =>
            (list || []).map((m) => (m.id === frame.data.id || (frame.data.wa_message_id && m.id === frame.data.wa_message_id) ? { ...m, status: frame.data.status, reason: frame.data.reason } : m)),
          );
        }
      }),
    [jid],
  );
  useEffect(() => bottom.current?.scrollIntoView({ block: "end" }), [messages.data?.length]);

  async function send(event) {
    event.preventDefault();
    const body = text.trim();
    if (!body) return;
    setSending(true);
    try {
      const sent = await api(`/api/chats/${encodeURIComponent(jid)}/messages`, { method: "POST", body: { text: body } });
      const mine = { id: sent.data.id, direction: "out", text: body, timestamp: new Date().toISOString(), status: sent.data.status };
      messages.setData((list) => ((list || []).some((m) => m.id === mine.id) ? list : [...(list || []), mine]));
      setText("");
    } catch (failure) {
      toast(errorText(failure), "error");
    }
    setSending(false);
  }

  const title = formatPhone(chat?.name || "+" + jid.split("@")[0]);
  return html`<div class="chat-view">
    <header class="chat-head">
      <a class="back" href="#/conversas" aria-label="Voltar para a lista">‹</a>
      <div><h2>${title}</h2><span class="muted">${formatPhone("+" + jid.split("@")[0])}</span></div>
      ${chat?.lead_id && html`<a class="small" href=${"#/leads/" + chat.lead_id}>ver lead</a>`}
    </header>
    <ol class="messages" aria-live="polite" aria-label="Mensagens">
      ${messages.loading && !messages.data && html`<li><${Loading} /></li>`}
      ${(messages.data || []).map(
        (m) => html`<li key=${m.id} class=${"bubble " + m.direction} data-message-id=${m.id} data-status=${m.status || ""}>
          <${MessageBody} message=${m} />
          <span class="meta"><time datetime=${m.timestamp}>${formatWhen(m.timestamp)}</time>
            ${m.direction === "out" &&
            html`<span class=${"tick tick-" + m.status} title=${(MESSAGE_STATUS_LABEL[m.status] || "") + (m.reason ? `: ${m.reason}` : "")}
              aria-label=${MESSAGE_STATUS_LABEL[m.status] || ""}>${TICKS[m.status] || ""}</span>`}</span>
        </li>`,
      )}
      <li ref=${bottom} class="end" aria-hidden="true"></li>
    </ol>
    <form class="composer" onSubmit=${send}>
      <label class="sr-only" for="composer-text">Mensagem</label>
      <textarea id="composer-text" rows="2" maxlength="4096" placeholder="Escreva uma mensagem" value=${text}
        onInput=${(e) => setText(e.target.value)}
        onKeyDown=${(e) => {
          if (e.key === "Enter" && !e.shiftKey) send(e);
        }}></textarea>
      <button class="primary" disabled=${sending || !text.trim()}>Enviar</button>
    </form>
  </div>`;
}
