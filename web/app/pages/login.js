// pages/login.js — the sign-in screen, and the same form over the page when a session ends
// while the app is open (embedded: what was typed on the page stays).
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Input, ErrorBox } from '../ui.js';

// onLogin(answer): called with the login answer ({user, csrf_token, ...}).
export function Login({ onLogin, embedded = false, presetEmail = '' }) {
  const [email, setEmail] = useState(presetEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    performance.clearMarks('lp:login-submit');
    performance.clearMarks('lp:leads-rendered');
    performance.mark('lp:login-submit');
    setBusy(true); setError(null);
    try {
      await onLogin(await api.auth.login(email, password));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const f = (error && error.fields) || {};
  const form = html`<form class=${embedded ? 'login' : 'login card'} onSubmit=${submit} aria-labelledby=${embedded ? undefined : 'login-title'} aria-label=${embedded ? 'Sign in again' : undefined} novalidate>
      ${embedded ? html`<p>Your session has ended. Sign in again to carry on; what you typed on the page is kept.</p>`
        : html`<div class="brand brand-lg"><img src="/favicon.svg" alt="" width="36" height="36" /><span>leadpath</span></div>
      <h1 id="login-title">Sign in</h1>`}
      <${ErrorBox} error=${error && !Object.keys(f).length ? (error.status === 401 ? 'Wrong email or password.' : error) : null} />
      <${Input} label="Email" type="email" value=${email} onInput=${setEmail} autocomplete="username" required autofocus=${!presetEmail} error=${f.email} />
      <${Input} label="Password" type="password" value=${password} onInput=${setPassword} autocomplete="current-password" required autofocus=${!!presetEmail} error=${f.password} />
      <button class="btn btn-primary btn-block" type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>`;
  return embedded ? form : html`<main class="login-wrap">${form}</main>`;
}
