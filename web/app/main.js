// main.js — the leadpath web UI: session, reference lists, navigation and routes.
import { html, render, useEffect, useRef, useState, useCallback } from '/vendor/htm-preact.mjs';
import { get, post, getAll, setCsrf, setUnauthorizedHandler } from './api.js';
import { AppContext, Link, navigate, useLocation, Input, ErrorBox, Spinner, Dialog } from './ui.js';
import { timeZone } from './util.js';
import { Dashboard } from './dashboard.js';
import { LeadsPage } from './leads.js';
import { LeadPage } from './lead.js';
import { SettingsPage } from './settings.js';
import { NotesContext, NotificationsButton, useNotifications } from './notifications.js';

const REF_LISTS = {
  stages: '/stages', outcomes: '/outcomes', lostReasons: '/lost-reasons', sources: '/sources',
  locations: '/locations', partners: '/partners', groups: '/groups', users: '/users',
};

const emptyRefs = () => Object.fromEntries(Object.keys(REF_LISTS).map((k) => [k, []]));

async function loadRef(name) {
  try {
    const items = await getAll(REF_LISTS[name]);
    if (name === 'stages') items.sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || a.id - b.id);
    return items;
  } catch (e) {
    if (e.status === 401) throw e;
    return [];   // a list this user may not read (e.g. users for an agent) just stays empty
  }
}

function Login({ onLogin, embedded = false, presetEmail = '' }) {
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
      const r = await post('/auth/login', { email, password }, { noAuthRedirect: true });
      setCsrf(r.csrf_token);
      await onLogin(r.user);
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

function Shell({ user, onLogout, children }) {
  const [navOpen, setNavOpen] = useState(false);
  const loc = useLocation();
  const notes = useNotifications();
  useEffect(() => { setNavOpen(false); notes.setOpen(false); }, [loc.path]);
  return html`<${NotesContext.Provider} value=${notes}><div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <${Link} href="/" class="brand"><img src="/favicon.svg" alt="" width="26" height="26" /><span>leadpath</span><//>
      <button type="button" class="icon-btn nav-toggle" aria-expanded=${navOpen ? 'true' : 'false'} aria-controls="mainnav"
        onClick=${() => setNavOpen(!navOpen)}><span aria-hidden="true">☰</span><span class="sr-only">Menu</span></button>
      <nav id="mainnav" class=${'mainnav' + (navOpen ? ' open' : '')} aria-label="Main">
        <${Link} href="/">Dashboard<//>
        <${Link} href="/leads">Leads<//>
        <${Link} href="/settings">Settings<//>
      </nav>
      <div class="userbox">
        <${NotificationsButton} notes=${notes} />
        <span class="user-name" title=${user.email}>${user.name || user.email}</span>
        <button type="button" class="btn btn-ghost" onClick=${onLogout}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${children}</main>
    <footer class="foot">leadpath · times shown in ${timeZone}</footer>
  </div><//>`;
}

function NotFound() {
  return html`<section class="page"><h1>Page not found</h1><p><${Link} href="/">Back to the dashboard<//></p></section>`;
}

function route(path) {
  let m;
  if (path === '/' || path === '/dashboard') return html`<${Dashboard} />`;
  if (path === '/leads' || path === '/leads/') return html`<${LeadsPage} />`;
  if ((m = path.match(/^\/leads\/(\d+)\/?$/))) return html`<${LeadPage} key=${m[1]} id=${Number(m[1])} />`;
  if ((m = path.match(/^\/settings(?:\/([a-z-]+))?\/?$/))) return html`<${SettingsPage} list=${m[1] || 'stages'} />`;
  return html`<${NotFound} />`;
}

function App() {
  const [session, setSession] = useState({ state: 'loading', user: null });
  const [refs, setRefs] = useState(emptyRefs);
  const [settings, setSettings] = useState({});
  const refsLoaded = useRef(false);
  const loc = useLocation();

  const loadRefs = useCallback(async (names = Object.keys(REF_LISTS)) => {
    const got = await Promise.all(names.map(loadRef));
    setRefs((r) => { const n = { ...r }; names.forEach((k, i) => { n[k] = got[i]; }); return n; });
  }, []);
  const loadSettings = useCallback(() => get('/settings').then(setSettings, () => {}), []);

  const start = useCallback(async (user) => {
    setSession({ state: 'in', user });
    if (refsLoaded.current) return;   // signed in again after the session ended: all is loaded
    refsLoaded.current = true;
    if (location.pathname === '/login') navigate('/', { replace: true });
    // after the screen's own first request: the browser opens only six connections at once
    setTimeout(() => { loadRefs(); loadSettings(); }, 0);
  }, []);

  useEffect(() => {
    // a session that ends while the app is open asks to sign in again over the page, so nothing
    // typed is lost; before that, the sign-in screen
    setUnauthorizedHandler(() => { setCsrf(null); setSession((s) => (s.state === 'in' || s.state === 'expired' ? { ...s, state: 'expired' } : { state: 'out', user: null })); });
    get('/me', null, { noAuthRedirect: true }).then(
      (r) => { setCsrf(r.csrf_token); start(r.user); },
      () => setSession({ state: 'out', user: null }));
  }, []);

  const logout = async () => {
    try { await post('/auth/logout', {}); } catch { /* the session is gone either way */ }
    setCsrf(null);
    setSession({ state: 'out', user: null });
    setRefs(emptyRefs());
    refsLoaded.current = false;
  };

  if (session.state === 'loading') return html`<${Spinner} label="Loading leadpath…" />`;
  if (session.state === 'out') return html`<${Login} onLogin=${start} />`;
  const ctx = { user: session.user, refs, reloadRef: (n) => loadRefs([n]), settings, reloadSettings: loadSettings };
  return html`<${AppContext.Provider} value=${ctx}>
    <${Shell} user=${session.user} onLogout=${logout}>${route(loc.path)}<//>
    <${Dialog} open=${session.state === 'expired'} title="Sign in again" noClose onClose=${() => {}}>
      <${Login} embedded presetEmail=${session.user.email} onLogin=${start} />
    <//>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));
