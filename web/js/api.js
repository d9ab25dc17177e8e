// The public API (REST) with the session: login, silent refresh of the rotating refresh
// token, logout. Every page calls `api(path, options)`; a 401 refreshes once and retries.

const STORE = "leadflow.session";
let session = load();
let refreshing = null;
let refreshTimer = null;
const listeners = new Set();

function load() {
  try {
    return JSON.parse(localStorage.getItem(STORE)) || null;
  } catch {
    return null;
  }
}

function save(next) {
  session = next;
  if (next) localStorage.setItem(STORE, JSON.stringify(next));
  else localStorage.removeItem(STORE);
  scheduleRefresh();
  for (const listener of listeners) listener(session);
}

/** Called with the new session (or null when it ends). */
export function onSession(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function currentSession() {
  return session;
}

export function accessToken() {
  return session?.access_token ?? null;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.details = error.details;
  }
}

function pairFrom(body, previous) {
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    expires_at: Date.now() + body.expires_in * 1000,
    user: previous?.user ?? null,
  };
}

async function send(path, { method = "GET", body, token, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "Sem conexão com o servidor." } });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export async function login(email, password) {
  const pair = await send("/api/auth/login", { method: "POST", body: { email, password } });
  const next = pairFrom(pair, null);
  const me = await send("/api/auth/me", { token: next.access_token });
  save({ ...next, user: me.data });
  return session;
}

/** Ends the session here and on the server (the refresh family is revoked). */
export async function logout(reason = null) {
  const ending = session;
  rememberEndReason(reason);
  save(null);
  if (ending) {
    try {
      await send("/api/auth/logout", {
        method: "POST",
        body: { refresh_token: ending.refresh_token },
        token: ending.access_token,
      });
    } catch {
      /* already gone: nothing more to end */
    }
  }
}

// Why the last session ended, kept for this tab until the login page shows it: the page
// may be reloaded in between (the user's next click, or a link they open).
const END_REASON = "leadflow.session_end_reason";

function rememberEndReason(reason) {
  if (reason) sessionStorage.setItem(END_REASON, reason);
  else sessionStorage.removeItem(END_REASON);
}

/** Why the last session ended (shown once on the login page). */
export function takeSessionEndReason() {
  const reason = sessionStorage.getItem(END_REASON);
  sessionStorage.removeItem(END_REASON);
  return reason;
}

/**
 * A new token pair, once at a time: refresh tokens are spent by one use, and a second use
 * revokes the whole family. Tabs share the stored pair; a Web Lock keeps them in turn, and
 * a tab that finds the pair already renewed by another simply adopts it.
 */
export function refresh() {
  if (!refreshing) {
    const run = () => renewOnce().finally(() => (refreshing = null));
    refreshing = navigator.locks ? navigator.locks.request("leadflow-refresh", run) : run();
  }
  return refreshing;
}

async function renewOnce() {
  const stored = load();
  if (!stored) {
    save(null);
    throw new ApiError(401, { error: { code: "unauthorized", message: "Sessão encerrada." } });
  }
  if (session && stored.refresh_token !== session.refresh_token && stored.expires_at > Date.now() + 30_000) {
    save(stored); // another tab renewed it a moment ago
    return stored;
  }
  try {
    const pair = await send("/api/auth/refresh", {
      method: "POST",
      body: { refresh_token: stored.refresh_token },
    });
    const next = pairFrom(pair, stored);
    const me = await send("/api/auth/me", { token: next.access_token });
    save({ ...next, user: me.data });
    return session;
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      rememberEndReason("Sua sessão terminou. Entre novamente.");
      save(null);
    }
    throw error;
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  // A minute before the access token expires (at least 5 s from now).
  const wait = Math.max(5_000, session.expires_at - Date.now() - 60_000);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), wait);
}
scheduleRefresh();

// Another tab logged in, out, or renewed the pair.
window.addEventListener("storage", (event) => {
  if (event.key !== STORE) return;
  const next = load();
  session = next;
  scheduleRefresh();
  for (const listener of listeners) listener(session);
});

/** A call to the API as the logged-in user; a 401 refreshes once, then ends the session. */
export async function api(path, options = {}) {
  if (!session) throw new ApiError(401, { error: { code: "unauthorized", message: "Entre primeiro." } });
  try {
    return await send(path, { ...options, token: session.access_token });
  } catch (error) {
    if (error.status !== 401) throw error;
  }
  await refresh();
  return send(path, { ...options, token: session.access_token });
}

/** Same as `api`, for a resource that is not JSON (the QR code image): returns a Blob. */
export async function apiBlob(path) {
  const get = () => fetch(path, { headers: { Authorization: `Bearer ${accessToken()}` } });
  let response = await get();
  if (response.status === 401) {
    await refresh();
    response = await get();
  }
  if (!response.ok) throw new ApiError(response.status, null);
  return response.blob();
}

let config = null;
/** What the gateway tells the console before login: where realtime is. */
export async function consoleConfig() {
  if (!config) {
    try {
      config = (await send("/api/config")).data;
    } catch {
      config = { realtime_url: null, simulator: false };
    }
  }
  return config;
}
