// The console's shell: session, navigation (hash routes, so the gateway serves one page),
// the realtime connection's state, and toasts.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { currentSession, logout, onSession } from "./api.js";
import * as live from "./live.js";
import { LoginPage } from "./pages/login.js";
import { BoardPage } from "./pages/board.js";
import { LeadPage } from "./pages/lead.js";
import { InboxPage } from "./pages/inbox.js";
import { WhatsAppPage } from "./pages/whatsapp.js";
import { ConsultantsPage } from "./pages/consultants.js";
import { DashboardPage } from "./pages/dashboard.js";
import { Toasts, html } from "./ui.js";

const ROUTES = [
  { path: /^\/$/, page: BoardPage, nav: "board" },
  { path: /^\/leads\/([^/]+)$/, page: LeadPage, nav: "board" },
  { path: /^\/conversas(?:\/([^/]+))?$/, page: InboxPage, nav: "inbox" },
  { path: /^\/painel$/, page: DashboardPage, nav: "dashboard" },
  { path: /^\/whatsapp$/, page: WhatsAppPage, nav: "whatsapp", staff: true },
  { path: /^\/consultores$/, page: ConsultantsPage, nav: "consultants", staff: true },
];

const NAV = [
  { id: "board", href: "#/", label: "Quadro", icon: "▦" },
  { id: "inbox", href: "#/conversas", label: "Conversas", icon: "✉" },
  { id: "dashboard", href: "#/painel", label: "Painel", icon: "▤" },
  { id: "whatsapp", href: "#/whatsapp", label: "WhatsApp", icon: "☏", staff: true },
  { id: "consultants", href: "#/consultores", label: "Consultores", icon: "☺", staff: true },
];

const routePath = () => decodeURIComponent(location.hash.replace(/^#/, "") || "/");

function useRoute() {
  const [path, setPath] = useState(routePath());
  useEffect(() => {
    const changed = () => setPath(routePath());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return path;
}

function useSession() {
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSession(setSession), []);
  return session;
}

const LIVE_LABEL = { live: "Ao vivo", connecting: "Reconectando…", offline: "Desconectado" };

function LiveBadge() {
  const [status, setStatus] = useState("offline");
  useEffect(() => live.onStatus(setStatus), []);
  return html`<span class="live live-${status}" role="status" title="Atualizações em tempo real">
    <span class="dot" aria-hidden="true"></span>${LIVE_LABEL[status]}</span>`;
}

function Shell({ session, route, params, path }) {
  const user = session.user;
  const staff = user.role !== "consultant";
  const Page = route.page;
  return html`
    <a class="skip" href="#conteudo">Ir para o conteúdo</a>
    <header class="topbar">
      <a class="brand" href="#/">leadflow</a>
      <nav class="mainnav" aria-label="Principal">
        ${NAV.filter((n) => staff || !n.staff).map(
          (n) => html`<a href=${n.href} class=${route.nav === n.id ? "active" : ""}
              aria-current=${route.nav === n.id ? "page" : undefined}>
              <span class="icon" aria-hidden="true">${n.icon}</span><span>${n.label}</span></a>`,
        )}
      </nav>
      <div class="who">
        <${LiveBadge} />
        <span class="user" title=${user.email}>${user.name}</span>
        <button class="ghost" onClick=${() => logout()}>Sair</button>
      </div>
    </header>
    <main id="conteudo" tabindex="-1">
      <${Page} key=${path} params=${params} user=${user} />
    </main>`;
}

function App() {
  const session = useSession();
  const path = useRoute();
  useEffect(() => {
    if (session) live.start();
    else live.stop();
  }, [session?.user?.id]);
  if (!session) return html`<${LoginPage} /><${Toasts} />`;
  const staff = session.user.role !== "consultant";
  let route = ROUTES.find((r) => r.path.test(path) && (staff || !r.staff));
  if (!route) route = ROUTES[0];
  const params = route.path.exec(path)?.slice(1) ?? [];
  return html`<${Shell} session=${session} route=${route} params=${params} path=${path} /><${Toasts} />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "loading" line the page shows until this module runs
render(html`<${App} />`, root);
