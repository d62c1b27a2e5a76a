// ui.js — small shared pieces: routing, labelled form controls, errors, badges (the age rule's
// words from the settings), dialogs, menus.
import { html, useEffect, useLayoutEffect, useRef, useState, createContext, useContext } from '/vendor/htm-preact.mjs';
import { useId, humanize } from './util.js';

// ---- routing (history API) ----
export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) { window.dispatchEvent(new Event('lp:navigate')); return; }
  history[replace ? 'replaceState' : 'pushState'](null, '', to);
  window.dispatchEvent(new Event('lp:navigate'));
  window.scrollTo(0, 0);
}
export function useLocation() {
  const get = () => ({ path: location.pathname, search: location.search });
  const [loc, setLoc] = useState(get);
  useEffect(() => {
    const f = () => setLoc(get());
    window.addEventListener('popstate', f);
    window.addEventListener('lp:navigate', f);
    return () => { window.removeEventListener('popstate', f); window.removeEventListener('lp:navigate', f); };
  }, []);
  return loc;
}
export function Link({ href, children, class: cls, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  const current = location.pathname === href || (href !== '/' && location.pathname.startsWith(href + '/'));
  return html`<a href=${href} class=${cls} onClick=${onClick} aria-current=${current ? 'page' : undefined} ...${rest}>${children}</a>`;
}

// ---- app-wide context: user, reference lists ----
export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);

// What the caller may do, as the server says (GET /me "can"): view own|team|all, allow|request|deny
// per action (bulk, delete, close_lost, ...), manage_lists, manage_users, approve, people (the
// users whose leads it may see). Screens hide what would only be refused.
export const useCan = () => (useApp() || {}).can || {};
// The users the caller may see leads of (all users while /me has not said).
export function peopleOf(users, can) {
  if (!can || !Array.isArray(can.people)) return users || [];
  const ids = new Set(can.people.map(String));
  return (users || []).filter((u) => ids.has(String(u.id)));
}

export function nameOf(list, id, fallback = '') {
  if (id === null || id === undefined || id === '') return fallback;
  if (!list || !list.length) return '';   // the list is still loading: show nothing rather than an id
  const it = (list || []).find((x) => String(x.id) === String(id) || (x.key !== undefined && x.key === id));
  return it ? (it.name || it.email || String(id)) : (fallback || `#${id}`);
}

// ---- form controls, each with its label and its error next to it ----
export function FieldError({ id, error }) {
  if (!error) return null;
  return html`<p class="field-error" id=${id} role="alert">${fieldMessage(error)}</p>`;
}
export function fieldMessage(e) {
  if (!e) return '';
  if (typeof e !== 'string') return String(e.message || e);
  const known = { required: 'This is required.', invalid: 'This value is not valid.', too_long: 'This is too long.',
    duplicate: 'This is already in use.', not_found: 'This no longer exists.', unknown: 'This value is not known.' };
  return known[e] || humanize(e) + (/[.!?]$/.test(e) ? '' : '.');
}

export function Input({ label, value, onInput, error, hint, type = 'text', id, inputRef, class: cls, ...rest }) {
  const auto = useId('f');
  const fid = id || auto;
  return html`<div class=${'field ' + (cls || '') + (error ? ' has-error' : '')}>
    <label for=${fid}>${label}</label>
    <input id=${fid} type=${type} value=${value ?? ''} ref=${inputRef}
      onInput=${(e) => onInput && onInput(e.currentTarget.value, e)}
      aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? fid + '-err' : hint ? fid + '-hint' : undefined} ...${rest} />
    ${hint && !error ? html`<p class="hint" id=${fid + '-hint'}>${hint}</p>` : null}
    <${FieldError} id=${fid + '-err'} error=${error} />
  </div>`;
}
export function Textarea({ label, value, onInput, error, id, rows = 3, class: cls, ...rest }) {
  const auto = useId('f');
  const fid = id || auto;
  return html`<div class=${'field ' + (cls || '') + (error ? ' has-error' : '')}>
    <label for=${fid}>${label}</label>
    <textarea id=${fid} rows=${rows} value=${value ?? ''} onInput=${(e) => onInput && onInput(e.currentTarget.value)}
      aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? fid + '-err' : undefined} ...${rest}></textarea>
    <${FieldError} id=${fid + '-err'} error=${error} />
  </div>`;
}
// options: [{value, label}] ; empty: label for the "" choice (omitted when null)
export function Select({ label, value, onChange, options, empty = null, error, id, class: cls, ...rest }) {
  const auto = useId('f');
  const fid = id || auto;
  return html`<div class=${'field ' + (cls || '') + (error ? ' has-error' : '')}>
    <label for=${fid}>${label}</label>
    <select id=${fid} value=${value ?? ''} onChange=${(e) => onChange && onChange(e.currentTarget.value)}
      aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? fid + '-err' : undefined} ...${rest}>
      ${empty !== null ? html`<option value="">${empty}</option>` : null}
      ${options.map((o) => html`<option value=${o.value} selected=${String(o.value) === String(value ?? '')}>${o.label}</option>`)}
    </select>
    <${FieldError} id=${fid + '-err'} error=${error} />
  </div>`;
}
export function Check({ label, checked, onChange, id, hint, ...rest }) {
  const auto = useId('c');
  const fid = id || auto;
  return html`<div class="check">
    <input type="checkbox" id=${fid} checked=${!!checked} onChange=${(e) => onChange && onChange(e.currentTarget.checked)} ...${rest} />
    <label for=${fid}>${label}${hint ? html` <span class="hint">${hint}</span>` : null}</label>
  </div>`;
}
export const optionsOf = (list, labelKey = 'name') => (list || []).map((x) => ({ value: x.id ?? x.key, label: x[labelKey] || x.email || String(x.id) }));

export function ErrorBox({ error, children }) {
  if (!error) return null;
  const msg = typeof error === 'string' ? error : error.message;
  return html`<div class="error-box" role="alert"><strong>${msg}</strong>${children}</div>`;
}
export function Notice({ text, kind = 'ok' }) {
  if (!text) return null;
  return html`<div class=${'notice notice-' + kind} role="status">${text}</div>`;
}
export function Spinner({ label = 'Loading…' }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${label}</p>`;
}

// ---- badges ----
// The age rule's thresholds as the settings have them ({warn, breach}; null until the settings
// are loaded), and the words for a lead's sla state.
export function slaDays(settings) {
  const s = settings || {};
  return { warn: s.sla_warning_days ?? null, breach: s.sla_breach_days ?? null };
}
export const useSlaDays = () => slaDays((useApp() || {}).settings);
export function slaText(sla, days) {
  if (sla === 'warning') return days.warn !== null ? `Over ${days.warn} days` : 'Warning';
  if (sla === 'breached') return days.breach !== null ? `Over ${days.breach} days` : 'Breached';
  return sla === 'ok' ? 'On time' : sla;
}
export function SlaBadge({ lead }) {
  const days = useSlaDays();
  if (!lead) return null;
  if (lead.status === 'closed') return html`<span class="badge badge-muted">${lead.age_days ?? ''}${lead.age_days !== undefined ? ' d' : ''}</span>`;
  const sla = lead.sla || 'ok';
  const age = lead.age_days;
  const rule = days.warn !== null ? ` (warn after ${days.warn} days, breach after ${days.breach})` : '';
  const title = `${age ?? '?'} days open — ${slaText(sla, days)}${rule}`;
  return html`<span class=${'badge sla-' + sla} title=${title}>
    <span class="sr-only">Age: </span>${age ?? '?'} d<span class="sla-word"> · ${slaText(sla, days)}</span></span>`;
}
export function StatusBadge({ lead, outcomes }) {
  if (!lead) return null;
  if (lead.status === 'closed') {
    const o = (outcomes || []).find((x) => x.key === lead.outcome);
    const kind = o ? o.kind : 'neutral';
    return html`<span class=${'badge outcome-' + kind}>${o ? o.name : humanize(lead.outcome || 'closed')}</span>`;
  }
  return html`<span class="badge badge-open">Open</span>`;
}

// ---- dialog: native <dialog> with showModal (Escape comes with it) ----
// Tab and Shift+Tab wrap around inside the dialog: showModal alone lets focus leave for the
// browser's own controls.
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
export function trapTab(e, root) {
  if (e.key !== 'Tab' || !root) return;
  const els = [...root.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
  // a radio group is one stop: only its checked radio (or its first) takes focus
  const stops = els.filter((el) => el.type !== 'radio' || el.checked || !els.some((o) => o !== el && o.type === 'radio' && o.name === el.name && (o.checked || els.indexOf(o) < els.indexOf(el))));
  if (!stops.length) { e.preventDefault(); return; }
  const first = stops[0], last = stops[stops.length - 1];
  const at = document.activeElement;
  if (e.shiftKey && (at === first || !root.contains(at))) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && (at === last || !root.contains(at))) { e.preventDefault(); first.focus(); }
}
export function Dialog({ open, title, onClose, children, wide, noClose = false }) {
  const ref = useRef(null);
  const titleId = useId('dlg');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  useEffect(() => () => { if (ref.current && ref.current.open) ref.current.close(); }, []);
  return html`<dialog ref=${ref} class=${wide ? 'wide' : ''} aria-labelledby=${titleId} onKeyDown=${(e) => trapTab(e, ref.current)}
      onCancel=${(e) => { e.preventDefault(); onClose && onClose(); }}>
    ${open ? html`<div class="dialog-head"><h2 id=${titleId}>${title}</h2>
      ${noClose ? null : html`<button type="button" class="icon-btn" aria-label="Close dialog" onClick=${() => onClose && onClose()}>✕</button>`}</div>
      <div class="dialog-body">${children}</div>` : null}
  </dialog>`;
}

// ---- menu button (ARIA menu pattern: arrows, Home/End, Escape) ----
export function Menu({ label, items }) {
  const [open, setOpen] = useState(false);
  const btn = useRef(null);
  const list = useRef(null);
  const id = useId('menu');
  const visible = items.filter(Boolean);
  const focusItem = (i) => {
    const els = list.current ? [...list.current.querySelectorAll('[role=menuitem]')] : [];
    if (!els.length) return;
    els[(i + els.length) % els.length].focus();
  };
  useLayoutEffect(() => { if (open) focusItem(0); }, [open]);
  useEffect(() => {
    if (!open) return;
    const close = (e) => { if (!list.current?.contains(e.target) && !btn.current?.contains(e.target)) setOpen(false); };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);
  const onKey = (e) => {
    const els = [...list.current.querySelectorAll('[role=menuitem]')];
    const i = els.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); focusItem(i + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); focusItem(i - 1); }
    else if (e.key === 'Home') { e.preventDefault(); focusItem(0); }
    else if (e.key === 'End') { e.preventDefault(); focusItem(els.length - 1); }
    else if (e.key === 'Escape' || e.key === 'Tab') { setOpen(false); btn.current.focus(); }
  };
  return html`<div class="menu">
    <button type="button" ref=${btn} class="btn" aria-haspopup="menu" aria-expanded=${open ? 'true' : 'false'} aria-controls=${id}
      onClick=${() => setOpen(!open)} onKeyDown=${(e) => { if (e.key === 'ArrowDown') { e.preventDefault(); setOpen(true); } }}>${label} <span aria-hidden="true">▾</span></button>
    ${open ? html`<ul class="menu-list" role="menu" id=${id} ref=${list} onKeyDown=${onKey}>
      ${visible.map((it) => html`<li role="none"><button type="button" role="menuitem" tabindex="-1" class=${it.danger ? 'danger' : ''}
        onClick=${() => { setOpen(false); btn.current.focus(); it.onSelect(); }}>${it.label}</button></li>`)}
    </ul>` : null}
  </div>`;
}
