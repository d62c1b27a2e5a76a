// components/notifications.js — the bell in the header: the unread count (polled every 30 s while the page is
// visible, and on every opening), and a panel listing the caller's notifications with "Mark read"
// and "Mark all read" (api/notifications.js).
import { html, useCallback, useEffect, useLayoutEffect, useRef, useState, createContext, useContext } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Link, ErrorBox, Spinner } from '../ui.js';
import { fmtDateTime, fmtRelative, humanize, useId } from '../util.js';
import { askedWords } from './approvals.js';

const POLL_MS = 30000;
const MAX = 200;   // the server answers at most 200 notifications

// {unread, refresh, setUnread, open, setOpen}: made once by the shell, read by the dashboard.
export const NotesContext = createContext(null);
export const useNotes = () => useContext(NotesContext);

export function useNotifications() {
  const [unread, setUnread] = useState(null);
  const [open, setOpen] = useState(false);
  const seq = useRef(0);
  const refresh = useCallback(async () => {
    const my = ++seq.current;
    try {
      const r = await api.notifications.list({ unread: true });
      if (my === seq.current) setUnread(((r && r.items) || []).length);
    } catch { /* the count stays as it was; a 401 asks to sign in again */ }
  }, []);
  // a count set from a list answer wins over a poll still on its way
  const set = useCallback((n) => { seq.current++; setUnread(n); }, []);
  useEffect(() => {
    const visible = () => document.visibilityState === 'visible';
    // after the screen's own first requests
    const first = setTimeout(() => { if (visible()) refresh(); }, 400);
    const t = setInterval(() => { if (visible()) refresh(); }, POLL_MS);
    const onVis = () => { if (visible()) refresh(); };
    document.addEventListener('visibilitychange', onVis);
    return () => { clearTimeout(first); clearInterval(t); document.removeEventListener('visibilitychange', onVis); };
  }, []);
  return { unread, refresh, setUnread: set, open, setOpen };
}

// Lead names for notifications whose data does not carry one (task_due, approvals): fetched once
// per lead and kept for the page's life; a lead the caller may not read stays "Lead #id".
const leadNames = new Map();
async function fillLeadNames(items) {
  const want = [...new Set(items.filter((n) => n.lead_id && !(n.data && n.data.full_name) && !leadNames.has(n.lead_id)).map((n) => n.lead_id))].slice(0, 20);
  want.forEach((id) => leadNames.set(id, null));
  await Promise.all(want.map((id) => api.leads.read(id).then((l) => leadNames.set(id, (l && l.full_name) || null), () => {})));
  return want.length > 0;
}
const leadName = (n) => (n.data && n.data.full_name) || leadNames.get(n.lead_id) || `Lead #${n.lead_id}`;

const words = (s) => (s ? String(s).replace(/_/g, ' ') : '');

// One line of text for a notification.
export function noteText(n) {
  const d = n.data || {};
  switch (n.kind) {
    case 'task_due': return `Task due: ${d.title || 'a task'}`;
    case 'sla_breached': return `${d.full_name || 'A lead'} has been open ${d.breach_days ?? 'too many'} days`;
    case 'approval_escalated': return `An approval to ${words(d.action) || 'act'} has waited over ${d.hours ?? 'some'} hours`;
    case 'approval_requested': return `${d.requested_by_name || 'Someone'} asks to ${askedWords(d, d.full_name)}`;
    case 'approval_approved':
    case 'approval_declined': {
      const who = d.decided_by_name || 'Your approver';
      const how = n.kind === 'approval_approved' ? 'approved' : 'declined';
      return `${who} ${how} your request to ${askedWords(d, d.full_name)}${d.note ? `: “${d.note}”` : ''}`;
    }
    case 'approval_cancelled': return 'Your request was cancelled: the lead moved another way';
    default: break;
  }
  const m = /^lead_closed_(.+)$/.exec(n.kind || '');
  if (m) return `${d.full_name || 'A lead'} was closed as ${words(m[1])}`;
  return humanize(n.kind || 'notification') + (d.full_name ? `: ${d.full_name}` : '');
}

const countText = (n) => (n >= MAX ? `${MAX}+` : String(n));

export function notesLabel(unread) {
  if (unread === null || unread === undefined) return 'Notifications';
  return `Notifications, ${unread ? countText(unread) : 'none'} unread`;
}

function Bell() {
  return html`<svg class="bell" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
    <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
  </svg>`;
}

function Note({ n, busy, onRead }) {
  const text = noteText(n);
  return html`<li class=${'note' + (n.read ? ' note-read' : ' note-unread')} data-id=${n.id}>
    <div class="note-main">
      <span class="note-text">${n.read ? null : html`<span class="sr-only">Unread: </span>`}${text}</span>
      <span class="sub">${n.lead_id ? html`<${Link} href=${'/leads/' + n.lead_id}>${leadName(n)}<//> · ` : null}<time
        datetime=${n.created_at} title=${fmtDateTime(n.created_at)}>${fmtRelative(n.created_at)}</time></span>
    </div>
    ${n.read ? html`<span class="note-state">Read</span>`
      : html`<button type="button" class="btn btn-small btn-ghost note-mark" disabled=${busy} aria-label=${'Mark read: ' + text}
        onClick=${() => onRead(n)}>Mark read</button>`}
  </li>`;
}

function Panel({ id, notes, onClose }) {
  const [which, setWhich] = useState('unread');
  const [items, setItems] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const head = useRef(null);
  const list = useRef(null);
  const hid = useId('notes');
  const seq = useRef(0);
  const load = async (w = which) => {
    const my = ++seq.current;
    setLoading(true); setError(null);
    try {
      const r = await api.notifications.list({ unread: w === 'unread' });
      if (my !== seq.current) return;
      const got = (r && r.items) || [];
      setItems(got);
      notes.setUnread(got.filter((x) => !x.read).length);
      fillLeadNames(got).then((more) => { if (more && my === seq.current) setItems((xs) => (xs ? [...xs] : xs)); });
    } catch (e) { if (my === seq.current) setError(e); }
    if (my === seq.current) setLoading(false);
  };
  useEffect(() => { load(which); }, [which]);
  useLayoutEffect(() => { if (head.current) head.current.focus(); }, []);

  const unreadHere = (items || []).filter((x) => !x.read).length;
  const markRead = async (n) => {
    setBusy(true); setError(null);
    try {
      await api.notifications.markRead(n.id);
      // the next "Mark read" keeps the focus (the pressed one goes away), else the heading
      const buttons = list.current ? [...list.current.querySelectorAll('.note-mark')] : [];
      const at = buttons.findIndex((b) => b.closest('.note')?.dataset.id === String(n.id));
      const next = buttons[at + 1] || buttons[at - 1];
      const nextId = next ? next.closest('.note')?.dataset.id : null;
      setItems((xs) => xs.map((x) => (x.id === n.id ? { ...x, read: true, read_at: new Date().toISOString() } : x)));
      notes.setUnread((u) => Math.max(0, (u ?? unreadHere) - 1));
      setTimeout(() => {
        const el = nextId && list.current && list.current.querySelector(`.note[data-id="${nextId}"] .note-mark`);
        (el || head.current)?.focus();
      }, 0);
    } catch (e) { setError(e); }
    setBusy(false);
  };
  const markAll = async () => {
    setBusy(true); setError(null);
    try {
      await api.notifications.markAllRead();
      setItems((xs) => (xs || []).map((x) => (x.read ? x : { ...x, read: true, read_at: new Date().toISOString() })));
      notes.setUnread(0);
      head.current?.focus();
    } catch (e) { setError(e); }
    setBusy(false);
  };
  // following a lead link closes the panel (also when it is the page already shown)
  const onClick = (e) => { if (e.target.closest && e.target.closest('a[href]')) onClose(false); };
  return html`<section class="notes-panel" id=${id} aria-labelledby=${hid} onClick=${onClick}>
    <div class="notes-head">
      <h2 id=${hid} tabindex="-1" ref=${head}>Notifications</h2>
      <button type="button" class="icon-btn" aria-label="Close notifications" onClick=${() => onClose(true)}>✕</button>
    </div>
    <div class="notes-tools">
      <div class="seg" role="group" aria-label="Which notifications">
        <button type="button" aria-pressed=${which === 'unread' ? 'true' : 'false'} onClick=${() => setWhich('unread')}>Unread</button>
        <button type="button" aria-pressed=${which === 'all' ? 'true' : 'false'} onClick=${() => setWhich('all')}>All</button>
      </div>
      <button type="button" class="btn btn-small" disabled=${busy || !unreadHere} onClick=${markAll}>Mark all read</button>
    </div>
    <${ErrorBox} error=${error} />
    ${loading && !items ? html`<${Spinner} />` : !items || !items.length
      ? html`<p class="empty">${which === 'unread' ? 'No unread notifications.' : 'No notifications yet.'}</p>`
      : html`<ul class=${'notes-list' + (loading ? ' dim' : '')} ref=${list}>${items.map((n) => html`<${Note} key=${n.id} n=${n} busy=${busy} onRead=${markRead} />`)}</ul>`}
    ${items && items.length >= MAX ? html`<p class="hint">Showing the latest ${MAX}.</p>` : null}
  </section>`;
}

// The header button and its panel.
export function NotificationsButton({ notes }) {
  const btn = useRef(null);
  const wrap = useRef(null);
  const id = useId('notes-panel');
  const { unread, open, setOpen } = notes;
  const close = (focusButton) => { setOpen(false); if (focusButton && btn.current) btn.current.focus(); };
  useEffect(() => {
    if (!open) return undefined;
    const outside = (e) => { if (wrap.current && !wrap.current.contains(e.target)) setOpen(false); };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);
  const onKey = (e) => { if (e.key === 'Escape' && open) { e.preventDefault(); close(true); } };
  return html`<div class="notes" ref=${wrap} onKeyDown=${onKey}>
    <button type="button" ref=${btn} class="icon-btn notes-btn" aria-expanded=${open ? 'true' : 'false'} aria-controls=${open ? id : undefined}
      aria-label=${notesLabel(unread)} onClick=${() => (open ? close(false) : setOpen(true))}>
      <${Bell} />${unread ? html`<span class="notes-count">${countText(unread)}</span>` : null}
    </button>
    ${open ? html`<${Panel} id=${id} notes=${notes} onClose=${close} />` : null}
  </div>`;
}
