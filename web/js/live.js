// Realtime: the WebSocket (`/ws`), with Server-Sent Events (`/api/events`) as the fallback
// when a socket cannot be opened. Pages subscribe with `onEvent` and ask for rooms with
// `joinRoom`; a 4401 close renews the token and reconnects; `resync` tells pages to refetch.

import { accessToken, consoleConfig, currentSession, refresh } from "./api.js";

const handlers = new Set();
const statusListeners = new Set();
const rooms = new Map(); // room -> number of pages that want it
let socket = null;
let source = null;
let mode = "ws";
let failedOpens = 0;
let lastEventId = null;
let retryTimer = null;
let stopped = true;
let status = "offline";

const CLOSE_UNAUTHORIZED = 4401;

export function onEvent(handler) {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

export function onStatus(listener) {
  statusListeners.add(listener);
  listener(status);
  return () => statusListeners.delete(listener);
}

function setStatus(next) {
  status = next;
  for (const listener of statusListeners) listener(next);
}

function dispatch(frame) {
  if (!frame || !frame.event) return;
  if (frame.id) lastEventId = frame.id;
  for (const handler of handlers) {
    try {
      handler(frame);
    } catch (error) {
      console.error(error);
    }
  }
}

/** Rooms every client of this user wants, besides what pages ask for. */
function baseRooms() {
  const user = currentSession()?.user;
  const list = ["kanban"];
  if (user) list.push(`consultant:${user.id}`);
  if (user && user.role !== "consultant") list.push("admin");
  return list;
}

export function joinRoom(room) {
  rooms.set(room, (rooms.get(room) || 0) + 1);
  if (rooms.get(room) === 1) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: "join_room", room }));
    else if (source) reconnectSoon(0); // SSE chooses rooms when it connects
  }
  return () => leaveRoom(room);
}

function leaveRoom(room) {
  const count = (rooms.get(room) || 0) - 1;
  if (count > 0) return rooms.set(room, count);
  rooms.delete(room);
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: "leave_room", room }));
}

async function baseUrl() {
  const config = await consoleConfig();
  return (config.realtime_url || location.origin).replace(/\/$/, "");
}

export function start() {
  stopped = false;
  connect();
}

export function stop() {
  stopped = true;
  clearTimeout(retryTimer);
  if (socket) socket.close(1000);
  if (source) source.close();
  socket = null;
  source = null;
  setStatus("offline");
}

function reconnectSoon(delay) {
  clearTimeout(retryTimer);
  if (socket) {
    const old = socket;
    socket = null;
    old.onclose = null;
    old.close(1000);
  }
  if (source) {
    source.close();
    source = null;
  }
  retryTimer = setTimeout(connect, delay);
}

async function connect() {
  if (stopped || !accessToken()) return;
  setStatus("connecting");
  const base = await baseUrl();
  if (mode === "ws") connectSocket(base);
  else connectEvents(base);
}

function connectSocket(base) {
  const url = new URL(base + "/ws");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", accessToken());
  if (lastEventId) url.searchParams.set("last_event_id", lastEventId);
  // A first connection has nothing to replay: whatever changed between a page's fetch and
  // the rooms being joined would be missed. A ping answered after the joins marks the
  // moment from which frames arrive; pages refetch then (`resync`).
  let catchingUp = !lastEventId;
  let opened = false;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    mode = "sse"; // no sockets in this browser (or a policy forbids them)
    return reconnectSoon(0);
  }
  socket = ws;
  ws.onopen = () => {
    opened = true;
    failedOpens = 0;
    setStatus("live");
    for (const room of new Set([...baseRooms(), ...rooms.keys()])) {
      ws.send(JSON.stringify({ action: "join_room", room }));
    }
    if (catchingUp) ws.send(JSON.stringify({ action: "ping" }));
  };
  ws.onmessage = (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return; /* not a frame */
    }
    if (catchingUp && frame.event === "pong") {
      catchingUp = false;
      return dispatch({ event: "resync", data: {} });
    }
    dispatch(frame);
  };
  ws.onclose = async (event) => {
    if (socket !== ws || stopped) return;
    socket = null;
    setStatus("connecting");
    if (event.code === CLOSE_UNAUTHORIZED) {
      try {
        await refresh(); // a fresh token, then straight back
        return reconnectSoon(0);
      } catch {
        return stop();
      }
    }
    if (!opened && ++failedOpens >= 3) mode = "sse"; // sockets blocked here: stream instead
    reconnectSoon(Math.min(10_000, 500 * 2 ** Math.min(failedOpens, 4)));
  };
}

function connectEvents(base) {
  const url = new URL(base + "/api/events");
  url.searchParams.set("token", accessToken());
  url.searchParams.set("rooms", [...new Set([...baseRooms(), ...rooms.keys()])].join(","));
  if (lastEventId) url.searchParams.set("last_event_id", lastEventId);
  const stream = new EventSource(url);
  source = stream;
  const named = ["kanban:lead_created", "kanban:lead_updated", "kanban:lead_assigned", "notification",
    "whatsapp:message", "whatsapp:message_status", "whatsapp:session", "livia:stage_changed", "resync"];
  const onFrame = (message) => {
    try {
      dispatch(JSON.parse(message.data));
    } catch {
      /* keepalive */
    }
  };
  for (const name of named) stream.addEventListener(name, onFrame);
  const catchingUp = !lastEventId; // as for a socket: the rooms are the URL's, joined on open
  stream.onopen = () => {
    setStatus("live");
    if (catchingUp) dispatch({ event: "resync", data: {} });
  };
  // The stream ends when the token expires: renew it and open a new one.
  stream.addEventListener("unauthorized", async () => {
    stream.close();
    try {
      await refresh();
      reconnectSoon(0);
    } catch {
      stop();
    }
  });
  stream.onerror = () => {
    if (source !== stream) return;
    setStatus("connecting");
    stream.close();
    source = null;
    reconnectSoon(3000);
  };
}

/** For tests and the curious: which transport is in use. */
export function transport() {
  return mode;
}
