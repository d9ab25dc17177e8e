import { useState } from "preact/hooks";
import { login, takeSessionEndReason } from "../api.js";
import { html } from "../ui.js";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [notice] = useState(takeSessionEndReason); // taken once, on the first render
  const [error, setError] = useState(null);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email.trim(), password);
      if (!location.hash || location.hash === "#/login") location.hash = "#/";
    } catch (failure) {
      setError(
        failure.status === 401
          ? "E-mail ou senha incorretos."
          : failure.status === 429
            ? "Muitas tentativas. Aguarde um minuto e tente de novo."
            : failure.message,
      );
      setBusy(false);
    }
  }

  return html`<main class="login" id="conteudo">
    <form class="card login-card" onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title"><span class="brand">leadflow</span></h1>
      <p class="muted">Entre para acessar seus leads.</p>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      <label for="login-email">E-mail</label>
      <input id="login-email" type="email" autocomplete="username" required autofocus
        value=${email} onInput=${(e) => setEmail(e.target.value)} />
      <label for="login-password">Senha</label>
      <input id="login-password" type="password" autocomplete="current-password" required
        value=${password} onInput=${(e) => setPassword(e.target.value)} />
      ${error && html`<p class="error-text" role="alert">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>${busy ? "Entrando…" : "Entrar"}</button>
    </form>
  </main>`;
}
