// main.js — the leadpath web UI's start: the session, what every screen reads from the app
// context (the user, the reference lists, the settings, the server's record catalogue from
// /meta), and the page the route table (routes.js) picks for the address.
import { html, render, useEffect, useRef, useState, useCallback } from '/vendor/htm-preact.mjs';
import * as api from './api/index.js';
import { setCsrf, setUnauthorizedHandler } from './api/client.js';
import { AppContext, navigate, useLocation, Spinner, Dialog } from './ui.js';
import { match } from './routes.js';
import { setTimeZone } from './util.js';
import { Shell } from './components/shell.js';
import { Login } from './pages/login.js';

// Reference lists every screen may name things from: context key -> loader.
const REF_LISTS = {
  stages: () => api.lists.all('stages'), outcomes: () => api.lists.all('outcomes'),
  lostReasons: () => api.lists.all('lost-reasons'), sources: () => api.lists.all('sources'),
  locations: () => api.lists.all('locations'), partners: () => api.lists.all('partners'),
  groups: () => api.lists.all('groups'), users: () => api.users.all(),
};

const emptyRefs = () => Object.fromEntries(Object.keys(REF_LISTS).map((k) => [k, []]));
const emptyMeta = { lead_fields: [], task_types: [], outcome_kinds: [] };

async function loadRef(name) {
  try {
    return await REF_LISTS[name]();
  } catch (e) {
    if (e.status === 401) throw e;
    return [];   // a list this user may not read (e.g. users for an agent) just stays empty
  }
}

function App() {
  const [session, setSession] = useState({ state: 'loading', user: null });
  const [refs, setRefs] = useState(emptyRefs);
  const [settings, setSettings] = useState({});
  const [meta, setMeta] = useState(null);
  const refsLoaded = useRef(false);
  const loc = useLocation();

  const loadRefs = useCallback(async (names = Object.keys(REF_LISTS)) => {
    const got = await Promise.all(names.map(loadRef));
    setRefs((r) => { const n = { ...r }; names.forEach((k, i) => { n[k] = got[i]; }); return n; });
  }, []);
  // times are shown in the company's time zone when the settings name one (util.js)
  const loadSettings = useCallback(() => api.settings.load().then((s) => { setTimeZone(s && s.time_zone); setSettings(s); }, () => {}), []);

  // answer: the login's or /me's ({user, csrf_token})
  const start = useCallback(async (answer) => {
    setCsrf(answer.csrf_token);
    // what the caller may do comes from /me (the login answer has only the user)
    if (!answer.can) answer = { ...answer, can: (await api.auth.me().catch(() => ({}))).can || {} };
    if (refsLoaded.current) { setSession({ state: 'in', user: answer.user, can: answer.can }); return; }   // signed in again: all is loaded
    refsLoaded.current = true;
    // the record catalogue and the settings come first (screens word things with them), in
    // parallel; the reference lists after the screen's own first request, as the browser
    // opens only six connections at once
    await Promise.all([api.meta.load().then(setMeta, () => setMeta(emptyMeta)), loadSettings()]);
    setSession({ state: 'in', user: answer.user, can: answer.can });
    if (location.pathname === '/login') navigate('/', { replace: true });
    setTimeout(() => { loadRefs(); }, 0);
  }, []);

  useEffect(() => {
    // a session that ends while the app is open asks to sign in again over the page, so nothing
    // typed is lost; before that, the sign-in screen
    setUnauthorizedHandler(() => { setCsrf(null); setSession((s) => (s.state === 'in' || s.state === 'expired' ? { ...s, state: 'expired' } : { state: 'out', user: null })); });
    api.auth.me().then(start, () => setSession({ state: 'out', user: null }));
  }, []);

  const logout = async () => {
    try { await api.auth.logout(); } catch { /* the session is gone either way */ }
    setCsrf(null);
    setSession({ state: 'out', user: null });
    setRefs(emptyRefs());
    refsLoaded.current = false;
  };

  if (session.state === 'loading') return html`<${Spinner} label="Loading leadpath…" />`;
  if (session.state === 'out') return html`<${Login} onLogin=${start} />`;
  const ctx = { user: session.user, can: session.can || {}, reloadMe: () => api.auth.me().then(start, () => {}), refs, reloadRef: (n) => loadRefs([n]), settings, reloadSettings: loadSettings, meta: meta || emptyMeta };
  const { page: Page, props, key } = match(loc.path);
  return html`<${AppContext.Provider} value=${ctx}>
    <${Shell} user=${session.user} onLogout=${logout}><${Page} key=${key} ...${props} /><//>
    <${Dialog} open=${session.state === 'expired'} title="Sign in again" noClose onClose=${() => {}}>
      <${Login} embedded presetEmail=${session.user.email} onLogin=${start} />
    <//>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));
