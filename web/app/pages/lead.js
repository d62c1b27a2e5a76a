// pages/lead.js — one lead: fields edited in place (If-Match, with a clear answer to 412), e-mails
// and phones as lists, the status path with the stage's guidance, the timeline with comments,
// tasks, the conversations with the lead (components/conversations.js), the actions menu (close,
// reopen, delete, new task) and the closed summary.
// Which fields exist, their types and which may be changed come from the server (/meta
// lead_fields); this file only says how each is shown.
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, useCan, Link, navigate, Input, Select, Textarea, Check, ErrorBox, Notice, Spinner, Dialog, Menu,
  SlaBadge, StatusBadge, nameOf, optionsOf, fieldMessage, FieldError } from '../ui.js';
import { conflictMessage, conflictOr, isConflict } from '../conflict.js';
import { fmtDateTime, toLocalInput, fromLocalInput, money, humanize, useLoader, useId, addDays } from '../util.js';
import { CloseDialog } from '../components/close-dialog.js';
import { Conversations } from '../components/conversations.js';
import { ApprovalBanner, askedWords } from '../components/approvals.js';
import { Quotes, ConvertWizard, useQuotes } from '../components/quotes.js';
import { RelatedCard, MergeDialog } from '../components/related.js';
import { ScoreCard } from '../components/score-card.js';
import { TicketsCard } from '../components/tickets.js';

// ---------- how fields are shown ----------
// Labels, widgets and order of the editable fields on the page. A field the server adds is
// shown after these, named from its key, with a widget for its type.
const SHOWN = [
  { key: 'full_name', label: 'Full name' },
  { key: 'company', label: 'Company' },
  { key: 'login', label: 'Login' },
  { key: 'emails', label: 'E-mails', one: 'e-mail' },
  { key: 'phones', label: 'Phones', one: 'phone' },
  { key: 'owner_id', label: 'Owner' },
  { key: 'source_id', label: 'Source' },
  { key: 'location_id', label: 'Location' },
  { key: 'partner_id', label: 'Partner' },
  { key: 'service', label: 'Service' },
  { key: 'value_cents', label: 'Value', type: 'money' },
  { key: 'score', label: 'Score' },
  { key: 'country', label: 'Country', hint: 'Two-letter code, e.g. DE' },
  { key: 'region', label: 'Region' },
  { key: 'city', label: 'City' },
  { key: 'request', label: 'Request', type: 'textarea', wide: true },
  { key: 'notes', label: 'Notes', type: 'textarea', wide: true },
  { key: 'email_opt_out', label: 'No e-mail', text: 'Opted out of e-mail' },
  { key: 'sms_opt_out', label: 'No SMS', text: 'Opted out of SMS' },
];
// Editable fields changed elsewhere on the page: the stage (status path), the currency (with
// the value), the last contact (shown below the fields).
const ELSEWHERE = new Set(['stage_id', 'currency', 'last_contacted_at']);
const LABELS = { ...Object.fromEntries(SHOWN.map((f) => [f.key, f.label])), stage_id: 'Stage', lost_reason_id: 'Lost reason',
  close_notes: 'Close notes', status: 'Status', outcome: 'Outcome', currency: 'Currency', last_contacted_at: 'Last contacted',
  closed_at: 'Closed at', sold_at: 'Sold at' };
const fieldLabel = (k) => LABELS[k] || humanize(k);
const IGNORED = new Set(['version', 'updated_at', 'age_days', 'sla', 'groups', 'win_probability', 'win_factors']);
// "lost-reasons" (an API list) -> "lostReasons" (its key in the app's reference lists)
const refKey = (list) => list.replace(/-(\w)/g, (_, c) => c.toUpperCase());

// The widget for a server field type (/meta lead_fields[].type).
// A list as a person reads it: phones formatted by the server ("+44 7700 900123"), others as stored.
function shownList(lead, key) {
  const list = lead[key] || [];
  const shown = key === 'phones' ? lead.phones_display : null;
  return Array.isArray(shown) && shown.length === list.length ? shown : list;
}

function widgetOf(m) {
  switch (m.type) {
    case 'emails': return { type: 'list', input: 'email', one: 'e-mail' };
    case 'phones': return { type: 'list', input: 'tel', one: 'phone' };
    case 'ref': return { type: 'ref', ref: refKey(m.ref) };
    case 'boolean': return { type: 'bool', text: fieldLabel(m.name) };
    case 'integer': return { type: 'number' };
    default: return { type: m.max_length > 1000 ? 'textarea' : 'text', wide: m.max_length > 1000 };
  }
}

// The fields the page edits: the server's editable lead fields, in SHOWN's order, then the rest.
export function editableFields(meta) {
  const byKey = Object.fromEntries(SHOWN.map((f, i) => [f.key, { ...f, order: i }]));
  return (meta.lead_fields || []).filter((m) => m.editable && !ELSEWHERE.has(m.name))
    .map((m, i) => ({ ...widgetOf(m), label: fieldLabel(m.name), order: SHOWN.length + i, ...byKey[m.name], key: m.name, required: !!m.required }))
    .sort((a, b) => a.order - b.order);
}

// A readable value of any lead field, ids turned into names (app: the app context).
export function showValue(key, v, app, lead) {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return '—';
  const { refs, meta } = app;
  const m = (meta.lead_fields || []).find((x) => x.name === key);
  if (m && m.type === 'ref') return nameOf(refs[refKey(m.ref)], v);
  if (key === 'outcome') { const o = (refs.outcomes || []).find((x) => x.key === v); return o ? o.name : humanize(v); }
  if (key === 'value_cents') return money(v, lead && lead.currency);
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (Array.isArray(v)) return v.join(', ');
  if (/_at$/.test(key)) return fmtDateTime(v);
  return String(v);
}

function differences(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  const out = [];
  for (const k of keys) {
    if (IGNORED.has(k)) continue;
    if (JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)) out.push(k);
  }
  return out;
}

function listErrors(fields, key) {
  const out = {};
  for (const [k, v] of Object.entries(fields || {})) {
    const m = k.match(new RegExp('^' + key + '(?:\\[(\\d+)\\]|\\.(\\d+))$'));
    if (m) out[Number(m[1] ?? m[2])] = v;
  }
  return out;
}

// ---------- conflict panel (412) ----------
function ConflictBox({ mine, fresh, onReload, onDiscard }) {
  const app = useApp();
  const changed = differences(mine, fresh);
  return html`<div class="conflict" role="alert">
    <strong>${conflictMessage('lead')}</strong>
    ${changed.length ? html`<p>Their version now has:</p><ul>${changed.map((k) => html`<li>
      <span class="conf-field">${fieldLabel(k)}:</span> <del>${showValue(k, mine[k], app, mine)}</del> → <ins>${showValue(k, fresh[k], app, fresh)}</ins></li>`)}</ul>`
      : html`<p>Nothing you can see differs, but the record has a newer version.</p>`}
    <p>Your text is kept in the box. Load their version, then save again to put yours over it, or discard yours.</p>
    <div class="actions">
      <button type="button" class="btn btn-primary" onClick=${onReload}>Load their version, keep my text</button>
      <button type="button" class="btn btn-ghost" onClick=${onDiscard}>Discard my change</button>
    </div>
  </div>`;
}

// ---------- one field edited in place ----------
function toDraft(f, lead) {
  const v = lead[f.key];
  if (f.type === 'list') return (v || []).slice();
  if (f.type === 'bool') return !!v;
  if (f.type === 'money') return v === null || v === undefined ? '' : (v / 100).toFixed(2);
  if (v === null || v === undefined) return '';
  return String(v);
}
function fromDraft(f, d, lead) {
  switch (f.type) {
    case 'list': return d.map((s) => s.trim()).filter(Boolean);
    case 'bool': return !!d;
    case 'ref': return d === '' ? null : Number(d);
    case 'number': return d === '' ? null : Number(d);
    case 'money': return d === '' ? null : Math.round(Number(String(d).replace(',', '.')) * 100);
    default: return f.required ? d.trim() : (d.trim() === '' ? null : d);
  }
}

function ListEditor({ f, draft, setDraft, errors, idBase }) {
  const addRef = useRef(null);
  const [add, setAdd] = useState('');
  const push = () => { if (add.trim()) { setDraft([...draft, add.trim()]); setAdd(''); addRef.current && addRef.current.focus(); } };
  return html`<div class="list-editor">
    <ul>${draft.map((v, i) => html`<li key=${i}>
      <label class="sr-only" for=${idBase + '-' + i}>${f.one} ${i + 1}</label>
      <input id=${idBase + '-' + i} type=${f.input} value=${v} aria-invalid=${errors[i] ? 'true' : undefined}
        onInput=${(e) => { const n = draft.slice(); n[i] = e.currentTarget.value; setDraft(n); }} />
      <button type="button" class="icon-btn" aria-label=${'Remove ' + (v || f.one)} onClick=${() => setDraft(draft.filter((_, j) => j !== i))}>✕</button>
      <${FieldError} error=${errors[i]} />
    </li>`)}</ul>
    <div class="list-add">
      <label class="sr-only" for=${idBase + '-new'}>Add ${f.one}</label>
      <input id=${idBase + '-new'} ref=${addRef} type=${f.input} placeholder=${'Add ' + f.one} value=${add}
        onInput=${(e) => setAdd(e.currentTarget.value)} onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); push(); } }} />
      <button type="button" class="btn btn-small" onClick=${push} disabled=${!add.trim()}>Add</button>
    </div>
  </div>`;
}

function EditableField({ f, lead, save, setLead }) {
  const app = useApp();
  const { refs } = app;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(null);
  const [base, setBase] = useState(null);       // the lead as it was when editing began
  const [error, setError] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = useId('ef');
  const editBtn = useRef(null);
  const inputRef = useRef(null);
  useEffect(() => { if (editing && inputRef.current) inputRef.current.focus(); }, [editing]);

  const start = () => { setDraft(toDraft(f, lead)); setBase(lead); setEditing(true); setError(null); setConflict(null); };
  const stop = () => { setEditing(false); setConflict(null); setError(null); setTimeout(() => editBtn.current && editBtn.current.focus(), 0); };
  const submit = async (e) => {
    if (e) e.preventDefault();
    let value;
    if (f.type === 'list') {
      // a value typed into the "add" box but not added yet still counts
      const pending = document.getElementById(id + '-new');
      value = fromDraft(f, pending && pending.value.trim() ? [...draft, pending.value] : draft);
    } else value = fromDraft(f, draft);
    if (f.type === 'money' && value !== null && isNaN(value)) { setError({ message: 'Enter an amount like 1250.00.' }); return; }
    if (f.required && !value) { setError({ message: `${f.label} is required.` }); return; }
    setBusy(true); setError(null);
    const r = await save({ [f.key]: value });
    setBusy(false);
    if (r.ok) stop();
    else if (r.conflict) setConflict(r.conflict);
    else setError(r.error);
  };
  const onKey = (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); stop(); } };
  const fieldErr = error && ((error.fields && (error.fields[f.key] || (f.key === 'value_cents' && error.fields.currency))) || (!error.fields || !Object.keys(error.fields).length ? error.message : null));
  const otherErr = error && error.fields && Object.keys(error.fields).length && !error.fields[f.key] && f.type !== 'list' ? error.message : null;

  if (f.type === 'bool') {
    // a checkbox saves at once; a conflict shows the same panel
    return html`<div class=${'ef ef-bool' + (f.wide ? ' wide' : '')}>
      <${Check} label=${f.text} checked=${!!lead[f.key]} disabled=${busy} onChange=${async (v) => {
        setBusy(true); setBase(lead); const r = await save({ [f.key]: v }); setBusy(false);
        if (r.conflict) { setConflict(r.conflict); setDraft(v); } else if (r.error) setError(r.error); else setError(null); }} />
      <${FieldError} error=${error && error.message} />
      ${conflict ? html`<${ConflictBox} mine=${base} fresh=${conflict}
        onReload=${() => { setLead(conflict); setConflict(null); }} onDiscard=${() => { setLead(conflict); setConflict(null); }} />` : null}
    </div>`;
  }

  let control;
  if (editing) {
    if (f.type === 'list') control = html`<${ListEditor} f=${f} draft=${draft} setDraft=${setDraft} idBase=${id} errors=${listErrors(error && error.fields, f.key)} />`;
    else if (f.type === 'textarea') control = html`<textarea id=${id} ref=${inputRef} rows="4" value=${draft} onInput=${(e) => setDraft(e.currentTarget.value)}></textarea>`;
    else if (f.type === 'ref') control = html`<select id=${id} ref=${inputRef} value=${draft} onChange=${(e) => setDraft(e.currentTarget.value)}>
      <option value="">—</option>${optionsOf(refs[f.ref]).map((o) => html`<option value=${o.value} selected=${String(o.value) === String(draft)}>${o.label}</option>`)}</select>`;
    else control = html`<input id=${id} ref=${inputRef} type=${f.type === 'number' ? 'number' : 'text'} inputmode=${f.type === 'money' ? 'decimal' : undefined}
      value=${draft} onInput=${(e) => setDraft(e.currentTarget.value)} aria-invalid=${fieldErr ? 'true' : undefined} />`;
  }
  return html`<div class=${'ef' + (f.wide || f.type === 'list' || conflict ? ' wide' : '') + (editing ? ' editing' : '')} data-field=${f.key}>
    ${editing ? html`<form onSubmit=${submit} onKeyDown=${onKey} aria-label=${'Edit ' + f.label} novalidate>
        ${f.type === 'list' ? html`<span class="ef-label">${f.label}</span>` : html`<label class="ef-label" for=${id}>${f.label}${f.type === 'money' && lead.currency ? ` (${lead.currency})` : ''}</label>`}
        ${control}
        ${f.hint ? html`<p class="hint">${f.hint}</p>` : null}
        ${fieldErr && f.type !== 'list' ? html`<p class="field-error" role="alert">${fieldMessage(fieldErr)}</p>` : null}
        ${(otherErr || (f.type === 'list' && error)) ? html`<p class="field-error" role="alert">${error.fields && error.fields[f.key] ? fieldMessage(error.fields[f.key]) : error.message}</p>` : null}
        ${conflict ? html`<${ConflictBox} mine=${base} fresh=${conflict}
          onReload=${() => { setLead(conflict); setBase(conflict); setConflict(null); }}
          onDiscard=${() => { setLead(conflict); setConflict(null); setEditing(false); }} />` : null}
        <div class="ef-actions">
          <button class="btn btn-primary btn-small" type="submit" disabled=${busy || !!conflict}>${busy ? 'Saving…' : 'Save'}</button>
          <button class="btn btn-ghost btn-small" type="button" onClick=${stop}>Cancel</button>
        </div>
      </form>`
    : html`<span class="ef-label" id=${id + '-l'}>${f.label}</span>
      <button type="button" class="ef-value" ref=${editBtn} onClick=${start} aria-describedby=${id + '-l'}
        aria-label=${f.type === 'list' && !(lead[f.key] || []).length ? `${f.label}: none. Add ${f.one}` : `${f.label}: ${f.type === 'list' ? shownList(lead, f.key).join(', ') : showValue(f.key, lead[f.key], app, lead)}. Edit`}>
        ${f.type === 'list' ? ((lead[f.key] || []).length ? html`<ul class="plain">${shownList(lead, f.key).map((v) => html`<li>${v}</li>`)}</ul>` : html`<span class="muted">Add ${f.one}</span>`)
          : html`<span class=${lead[f.key] === null || lead[f.key] === undefined || lead[f.key] === '' ? 'muted' : ''}>${showValue(f.key, lead[f.key], app, lead)}</span>`}
        <span class="ef-pen" aria-hidden="true">✎</span>
      </button>`}
  </div>`;
}

// ---------- status path ----------
function StatusPath({ lead, transitions, save, setLead, onClose }) {
  const { refs } = useApp();
  const stages = refs.stages || [];
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const idx = stages.findIndex((s) => s.id === lead.stage_id);
  const current = stages[idx];
  const closed = lead.status === 'closed';
  const byStage = {};
  for (const t of (transitions || [])) if (t.kind === 'stage') byStage[t.stage_id] = t;
  const move = async (s) => {
    const t = byStage[s.id];
    if (t && !t.allowed) { setError({ message: `Cannot move to ${s.name}: ${t.missing && t.missing.length ? 'missing ' + t.missing.map(fieldLabel).join(', ') : 'not allowed for you'}.` }); return; }
    setBusy(true); setError(null);
    const r = await save({ stage_id: s.id });
    setBusy(false);
    if (r.conflict) { setLead(r.conflict); setError({ message: conflictMessage('lead', 'The page now shows their version: try the move again.') }); }
    else if (r.error) setError(r.error);
  };
  return html`<section class="card path-card" aria-labelledby="path-h">
    <h2 id="path-h" class="sr-only">Status path</h2>
    <ol class="path">${stages.map((s, i) => {
      const t = byStage[s.id];
      const state = closed ? (i <= idx ? 'done' : 'todo') : i < idx ? 'done' : i === idx ? 'current' : 'todo';
      return html`<li class=${'step step-' + state + (s.is_sale ? ' step-sale' : '')} key=${s.id}>
        <button type="button" disabled=${closed || busy || i === idx} aria-current=${i === idx ? 'step' : undefined}
          title=${s.name + (t && !t.allowed ? ' — not available: ' + (t.missing || []).map(fieldLabel).join(', ') : (t && t.approval_required ? ' — needs approval' : ''))}
          onClick=${() => move(s)}>${s.name}${i === idx ? html`<span class="sr-only"> (current stage)</span>` : null}</button></li>`;
    })}
    <li class=${'step step-close' + (closed ? ' step-current' : '')}>
      <button type="button" disabled=${closed} onClick=${onClose}>${closed ? 'Closed' : 'Close…'}</button></li>
    </ol>
    <${ErrorBox} error=${error} />
    ${current && current.guidance && !closed ? html`<div class="guidance"><strong>Guidance for ${current.name}:</strong> <span>${current.guidance}</span></div>` : null}
    ${current && current.waiting && !closed ? html`<p class="hint">Time in this stage does not count towards the lead's age rule.</p>` : null}
  </section>`;
}

// ---------- timeline ----------
export const ICONS = { note: '✎', call: '☎', email: '✉', flag: '⚑', star: '★', warning: '⚠', check: '✔' };
// Icon names other clients send (the API takes any short name): shown as the nearest icon, and a
// name with no icon as a plain dot — never as the word itself.
const ICON_ALIASES = { phone: 'call', telephone: 'call', mail: 'email', envelope: 'email', comment: 'note', pencil: 'note',
  alert: 'warning', important: 'warning', done: 'check', tick: 'check', ok: 'check', favourite: 'star', favorite: 'star' };
export const iconOf = (name) => ICONS[name] || ICONS[ICON_ALIASES[String(name || '').toLowerCase()]] || (name ? '•' : ICONS.note);
// Comment colours: sent as hex (the API's example is "#d97706"), shown through CSS classes.
export const COLORS = { gray: '#6b7280', blue: '#2563eb', green: '#16a34a', amber: '#d97706', red: '#dc2626', purple: '#7c3aed' };
const colorName = (c) => { if (!c) return null; const v = String(c).toLowerCase(); return COLORS[v] ? v : Object.keys(COLORS).find((k) => COLORS[k] === v) || null; };
const KIND_ICON = { created: '✦', updated: '✎', stage_changed: '➜', comment: '✎', message_in: '✉', message_out: '➤',
  thread_opened: '☰', thread_closed: '☰', task_created: '☐', task_done: '☑', task_cancelled: '☒', closed: '⚑',
  reopened: '↺', converted: '★', approval_requested: '⚖', approval_decided: '⚖', group_added: '✚', merged: '⇄' };

function describe(item, app) {
  const { refs } = app;
  const d = item.data || {};
  const stage = (id) => nameOf(refs.stages, id, '—');
  switch (item.kind) {
    case 'created': return 'created the lead';
    case 'updated': return 'changed fields';
    case 'stage_changed': return html`moved the lead from <b>${d.from_name || stage(d.from)}</b> to <b>${d.to_name || stage(d.to)}</b>`;
    case 'comment': return 'commented';
    case 'closed': return html`closed the lead as <b>${showValue('outcome', d.outcome, app)}</b>${d.reason_id || d.lost_reason_id ? html` (${nameOf(refs.lostReasons, d.reason_id || d.lost_reason_id)})` : ''}`;
    case 'reopened': return 'reopened the lead';
    case 'task_created': return html`added the task <b>${d.title || humanize(d.type || 'task')}</b>${d.due_at ? ' due ' + fmtDateTime(d.due_at) : ''}`;
    case 'task_done': return html`completed <b>${d.title || 'a task'}</b>`;
    case 'task_cancelled': return html`cancelled <b>${d.title || 'a task'}</b>`;
    case 'group_added': return html`added the lead to <b>${nameOf(refs.groups, d.group_id ?? d.group, '')}</b>`;
    case 'message_in': return html`received a ${d.channel || ''} message`;
    case 'message_out': return html`sent a ${d.channel || ''} message`;
    case 'approval_requested': return html`asked for approval to <b>${askedWords({ action: d.action, outcome_name: showValue('outcome', d.params && d.params.outcome, app), params: d.params })}</b>${d.params && d.params.reason_id ? html` (${nameOf(refs.lostReasons, d.params.reason_id)})` : ''}`;
    case 'approval_decided': {
      const what = askedWords({ action: d.action, outcome_name: d.outcome_name, params: { outcome: d.outcome } });
      if (d.decision === 'cancelled') return html`cancelled the request to <b>${what}</b>${d.note ? ` (${d.note})` : ''}`;
      return html`<b>${d.decision === 'approved' ? 'approved' : 'declined'}</b> the request to ${what}`;
    }
    case 'merged': return html`merged ${(d.from || []).map((x, i) => html`${i ? ', ' : ''}<${Link} href=${'/leads/' + x}>lead #${x}<//>`)} into this lead`;
    case 'merged_into': return html`merged this lead into <${Link} href=${'/leads/' + d.into}>${d.into_name || 'lead #' + d.into}<//>`;
    case 'message_sent': return html`handed a ${d.channel || ''} message over for delivery`;
    case 'message_delivered': return html`delivered a ${d.channel || ''} message`;
    case 'message_failed': return html`could not deliver a ${d.channel || ''} message${d.error ? html`: ${d.error}` : ''}`;
    case 'ticket_opened': return html`opened the ticket <${Link} href=${'/tickets/' + d.ticket_id}>${d.subject || '#' + d.ticket_id}<//>${d.requester ? ' for ' + d.requester : ''}`;
    case 'ticket_updated': return html`changed the ticket <${Link} href=${'/tickets/' + d.ticket_id}>${d.subject || '#' + d.ticket_id}<//> (${Object.keys(d.changes || {}).map(humanize).join(', ').toLowerCase()})`;
    case 'ticket_closed': return html`closed the ticket <${Link} href=${'/tickets/' + d.ticket_id}>${d.subject || '#' + d.ticket_id}<//>`;
    case 'ticket_reopened': return html`reopened the ticket <${Link} href=${'/tickets/' + d.ticket_id}>${d.subject || '#' + d.ticket_id}<//>`;
    case 'ticket_comment': return html`commented on the ticket <${Link} href=${'/tickets/' + d.ticket_id}>${d.subject || '#' + d.ticket_id}<//>: ${d.body || ''}`;
    case 'quote_sent': return html`sent quote <b>${d.number || '#' + d.quote_id}</b> by e-mail${d.again ? ' again' : ''}`;
    default: return humanize(item.kind).toLowerCase();
  }
}

function TimelineItem({ item }) {
  const app = useApp();
  const { refs } = app;
  const d = item.data || {};
  const isComment = item.kind === 'comment';
  const color = isComment ? colorName(d.color) : null;
  // a colour outside the palette (set by another client) is applied through the CSSOM, which the CSP allows
  const custom = isComment && !color && /^#[0-9a-f]{3,8}$/i.test(d.color || '') ? d.color : null;
  const iconRef = useRef(null);
  useEffect(() => { if (iconRef.current) iconRef.current.style.borderColor = custom || ''; }, [custom]);
  const changes = item.kind === 'updated' || item.kind === 'merged' ? Object.entries(d.changes || {}) : [];
  const who = item.actor_id ? nameOf(refs.users, item.actor_id, 'Someone') : 'leadpath';
  return html`<li class=${'tl-item tl-k-' + item.kind + (color ? ' c-' + color : '')}>
    <span class="tl-icon" aria-hidden="true" ref=${iconRef} title=${isComment && d.icon ? humanize(d.icon) : undefined}>${isComment ? iconOf(d.icon) : (KIND_ICON[item.kind] || '•')}</span>
    <div class="tl-body">
      <div class="tl-head"><span><b>${who}</b> ${describe(item, app)}</span>
        <time datetime=${item.at} title=${fmtDateTime(item.at)}>${fmtDateTime(item.at)}</time></div>
      ${isComment ? html`<p class="tl-comment">${d.body}</p>` : null}
      ${changes.length ? html`<ul class="changes">${changes.map(([k, c]) => html`<li>
        <span class="conf-field">${fieldLabel(k)}:</span>${' '}<del>${showValue(k, c && c.old, app)}</del>${' '}<span aria-label="changed to">→</span>${' '}<ins>${showValue(k, c && c.new, app)}</ins></li>`)}</ul>` : null}
      ${(item.kind === 'closed' || item.kind === 'reopened') && d.notes ? html`<p class="tl-comment">${d.notes}</p>` : null}
      ${item.kind === 'approval_decided' && d.decision !== 'cancelled' ? html`<p class=${'tl-comment tl-decision tl-' + d.decision}>${d.decision === 'approved' ? 'Approved' : 'Declined'} by ${d.decided_by_name || who}${d.note ? html`: “${d.note}”` : ''}</p>` : null}
      ${item.kind === 'message_in' || item.kind === 'message_out' ? html`<p class="tl-comment">${d.subject ? html`<b>${d.subject}</b> ` : null}${d.body || ''}</p>` : null}
    </div>
  </li>`;
}

function CommentForm({ leadId, onAdded }) {
  const [body, setBody] = useState('');
  const [icon, setIcon] = useState('note');
  const [color, setColor] = useState('gray');   // a key of COLORS
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true); setError(null);
    try { await api.leads.comment(leadId, { body: body.trim(), icon, color: COLORS[color] }); setBody(''); onAdded(); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<form class="comment-form" onSubmit=${submit}>
    <${Textarea} label="Add a comment" value=${body} onInput=${setBody} rows="2" error=${fe.body} />
    <div class="pickers">
      <fieldset class="picker"><legend>Icon</legend>
        ${Object.entries(ICONS).map(([k, g]) => html`<label class="pick" title=${humanize(k)}>
          <input type="radio" name="c-icon" value=${k} checked=${icon === k} onChange=${() => setIcon(k)} />
          <span aria-hidden="true">${g}</span><span class="sr-only">${humanize(k)}</span></label>`)}
        <${FieldError} error=${fe.icon} />
      </fieldset>
      <fieldset class="picker"><legend>Colour</legend>
        ${Object.keys(COLORS).map((c) => html`<label class="pick" title=${humanize(c)}>
          <input type="radio" name="c-color" value=${c} checked=${color === c} onChange=${() => setColor(c)} />
          <span class=${'swatch c-' + c} aria-hidden="true"></span><span class="sr-only">${humanize(c)}</span></label>`)}
        <span class="picked" aria-hidden="true">${humanize(color)}</span>
        <${FieldError} error=${fe.color} />
      </fieldset>
      <button class="btn btn-primary" type="submit" disabled=${busy || !body.trim()}>Comment</button>
    </div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
  </form>`;
}

function Timeline({ leadId, tl, reload }) {
  const items = ((tl.data && tl.data.items) || []).slice().sort((a, b) => (b.at || '').localeCompare(a.at || '') || b.id - a.id);
  return html`<section class="card" aria-labelledby="tl-h">
    <h2 id="tl-h">Timeline</h2>
    <${CommentForm} leadId=${leadId} onAdded=${reload} />
    <${ErrorBox} error=${tl.error} />
    ${tl.loading && !tl.data ? html`<${Spinner} />` : items.length ? html`<ol class="timeline">${items.map((it) => html`<${TimelineItem} key=${it.id} item=${it} />`)}</ol>`
      : html`<p class="empty">Nothing has happened yet.</p>`}
  </section>`;
}

// ---------- tasks (their types: the server's, /meta task_types) ----------

function TaskRow({ t, onChanged, onFinishCall }) {
  const { refs } = useApp();
  const [resched, setResched] = useState(false);
  const [due, setDue] = useState(toLocalInput(t.due_at));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = useId('rs');
  const change = async (body) => {
    setBusy(true); setError(null);
    try { await api.tasks.update(t.id, body, t.version); setResched(false); onChanged(); }
    catch (e) { setError(conflictOr(e, 'task', 'The list now shows the latest: try again.')); if (isConflict(e)) onChanged(); }
    setBusy(false);
  };
  const overdue = t.status === 'open' && t.due_at && new Date(t.due_at) < new Date();
  return html`<li class=${'task task-' + t.status + (overdue ? ' overdue' : '')} data-task-id=${t.id}>
    <div class="task-main">
      <span class="task-title">${t.title || humanize(t.type)}</span>
      <span class="sub">${humanize(t.type)} · ${t.due_at ? html`<time datetime=${t.due_at}>${overdue ? 'overdue, ' : ''}due ${fmtDateTime(t.due_at)}</time>` : 'no due date'}
        ${t.assignee_id ? ' · ' + nameOf(refs.users, t.assignee_id) : ''}${t.status !== 'open' ? ' · ' + (t.status === 'done' ? 'done' : 'cancelled') : ''}</span>
      ${t.notes ? html`<span class="sub">${t.notes}</span>` : null}
    </div>
    ${t.status === 'open' ? html`<div class="task-actions">
      ${t.type === 'call' && onFinishCall
        ? html`<button type="button" class="btn btn-small" disabled=${busy} onClick=${() => onFinishCall(t)}>Complete…<span class="sr-only"> ${t.title}</span></button>`
        : html`<button type="button" class="btn btn-small" disabled=${busy} onClick=${() => change({ status: 'done' })}>Complete<span class="sr-only"> ${t.title}</span></button>`}
      <button type="button" class="btn btn-small btn-ghost" disabled=${busy} aria-expanded=${resched ? 'true' : 'false'} onClick=${() => setResched(!resched)}>Reschedule<span class="sr-only"> ${t.title}</span></button>
      <button type="button" class="btn btn-small btn-ghost" disabled=${busy} onClick=${() => change({ status: 'cancelled' })}>Cancel<span class="sr-only"> task ${t.title}</span></button>
    </div>` : null}
    ${resched ? html`<form class="resched" onSubmit=${(e) => { e.preventDefault(); change({ due_at: fromLocalInput(due) }); }}>
      <label for=${id}>New due date</label><input id=${id} type="datetime-local" value=${due} onInput=${(e) => setDue(e.currentTarget.value)} required />
      <button class="btn btn-small btn-primary" type="submit" disabled=${busy || !due}>Save date</button></form>` : null}
    <${ErrorBox} error=${error} />
  </li>`;
}

function NewTaskForm({ leadId, lead, onAdded, titleRef }) {
  const { refs, user, meta } = useApp();
  const types = meta.task_types || [];
  const init = () => ({ title: '', type: types[0] || '', due: toLocalInput(addDays(new Date(), 1).toISOString()), assignee_id: String(lead.owner_id || user.id), notes: '' });
  const [f, setF] = useState(init);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const up = (k) => (v) => setF({ ...f, [k]: v });
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      await api.tasks.create(leadId, { type: f.type || undefined, title: f.title.trim(), due_at: fromLocalInput(f.due),
        assignee_id: f.assignee_id ? Number(f.assignee_id) : undefined, notes: f.notes || undefined }, 'task-' + leadId + '-' + Date.now());
      setF(init()); onAdded();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<form class="task-form" onSubmit=${submit} aria-label="Add a task">
    <${Input} label="New task" value=${f.title} onInput=${up('title')} inputRef=${titleRef} placeholder="What needs doing?" error=${fe.title} class="grow" />
    <${Select} label="Type" value=${f.type} options=${types.map((t) => ({ value: t, label: humanize(t) }))} onChange=${up('type')} error=${fe.type} />
    <${Input} label="Due" type="datetime-local" value=${f.due} onInput=${up('due')} error=${fe.due_at} class="field-due" />
    <${Select} label="Assignee" value=${f.assignee_id} options=${optionsOf(refs.users && refs.users.length ? refs.users : [user])} onChange=${up('assignee_id')} error=${fe.assignee_id} />
    <div class="field field-end"><button class="btn btn-primary" type="submit" disabled=${busy || !f.title.trim()}>Add task</button></div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
  </form>`;
}

function Tasks({ lead, tasks, reload, titleRef, onFinishCall }) {
  const [showAll, setShowAll] = useState(false);
  const items = (tasks.data || []).slice().sort((a, b) => (a.status === 'open' ? 0 : 1) - (b.status === 'open' ? 0 : 1) || (a.due_at || '').localeCompare(b.due_at || ''));
  const open = items.filter((t) => t.status === 'open');
  const rest = items.filter((t) => t.status !== 'open');
  return html`<section class="card" aria-labelledby="tasks-h">
    <h2 id="tasks-h">Tasks <span class="count">${open.length} open</span></h2>
    <${ErrorBox} error=${tasks.error} />
    ${open.length ? html`<ul class="tasks">${open.map((t) => html`<${TaskRow} key=${t.id + ':' + t.version} t=${t} onChanged=${reload} onFinishCall=${onFinishCall} />`)}</ul>` : html`<p class="empty">No open tasks.</p>`}
    ${rest.length ? html`<button type="button" class="btn btn-ghost btn-small" aria-expanded=${showAll ? 'true' : 'false'} onClick=${() => setShowAll(!showAll)}>
      ${showAll ? 'Hide' : 'Show'} ${rest.length} finished</button>` : null}
    ${showAll ? html`<ul class="tasks">${rest.map((t) => html`<${TaskRow} key=${t.id + ':' + t.version} t=${t} onChanged=${reload} />`)}</ul>` : null}
    ${lead.status === 'open' || true ? html`<${NewTaskForm} leadId=${lead.id} lead=${lead} onAdded=${reload} titleRef=${titleRef} />` : null}
  </section>`;
}

// ---------- closed summary, reopen, delete ----------
function ClosedSummary({ lead }) {
  const { refs } = useApp();
  if (lead.status !== 'closed') return null;
  const o = (refs.outcomes || []).find((x) => x.key === lead.outcome);
  return html`<section class=${'card closed-card outcome-' + (o ? o.kind : 'neutral')} aria-labelledby="closed-h">
    <h2 id="closed-h">Closed as ${o ? o.name : humanize(lead.outcome || '')}</h2>
    <dl class="kv">
      ${lead.lost_reason_id ? html`<dt>Reason</dt><dd>${nameOf(refs.lostReasons, lead.lost_reason_id)}</dd>` : null}
      <dt>Closed by</dt><dd>${lead.closed_by ? nameOf(refs.users, lead.closed_by) : '—'}</dd>
      <dt>When</dt><dd><time datetime=${lead.closed_at}>${fmtDateTime(lead.closed_at)}</time></dd>
      ${lead.close_notes ? html`<dt>Notes</dt><dd class="pre">${lead.close_notes}</dd>` : null}
      ${lead.sold_at ? html`<dt>Sold</dt><dd>${fmtDateTime(lead.sold_at)}</dd>` : null}
      ${lead.customer_id ? html`<dt>Customer</dt><dd><${Link} href=${`/customers/${lead.customer_id}`}>Open the customer<//> (contact details are kept there now)</dd>` : null}
    </dl>
  </section>`;
}

function ReopenDialog({ open, lead, onClose, onDone }) {
  const [notes, setNotes] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try { const r = await api.leads.reopen(lead.id, notes, lead.version); setNotes(''); onDone(r); }
    catch (err) { setError(conflictOr(err, 'lead', 'Close this dialog; the page will show the latest version.')); if (isConflict(err)) onDone(null); }
    setBusy(false);
  };
  return html`<${Dialog} open=${open} title="Reopen lead" onClose=${onClose}>
    <form onSubmit=${submit}>
      <p>${lead.full_name} goes back to open. Its earlier outcome stays in the timeline.</p>
      <${Textarea} label="Notes (optional)" value=${notes} onInput=${setNotes} error=${error && error.fields && error.fields.notes} autofocus />
      <${ErrorBox} error=${error} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-primary" type="submit" disabled=${busy}>Reopen</button></div>
    </form>
  <//>`;
}

function DeleteDialog({ open, lead, onClose }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true); setError(null);
    try { await api.leads.remove(lead.id, lead.version); onClose(); navigate('/leads'); }
    catch (err) { setError(conflictOr(err, 'lead', 'Close this dialog to see the latest version.')); }
    setBusy(false);
  };
  return html`<${Dialog} open=${open} title="Delete lead" onClose=${onClose}>
    <p>Delete <b>${lead.full_name}</b>? It disappears from every list; its history stays in the audit log.</p>
    <${ErrorBox} error=${error} />
    <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Keep it</button>
      <button type="button" class="btn btn-danger" disabled=${busy} onClick=${go}>Delete lead</button></div>
  <//>`;
}

// ---------- the page ----------
export function LeadPage({ id }) {
  const { refs, meta } = useApp();
  const [leadState, reloadLead, setLeadData] = useLoader(() => api.leads.read(id), [id]);
  const [trans, reloadTrans] = useLoader(() => api.leads.transitions(id).catch(() => []), [id]);
  // every page: the order of the pages is the server's, the timeline sorts newest first itself
  const [tl, reloadTl] = useLoader(async () => ({ items: await api.leads.timeline(id) }), [id]);
  const [tasks, reloadTasks] = useLoader(() => api.tasks.listAll({ lead: id, status: 'all', assignee: 'any' }), [id]);
  // a request of this lead waiting for approval: the banner says so (and the approver decides there)
  const [waiting, reloadWaiting] = useLoader(() => api.approvals.list({ status: 'pending', lead: id }).catch(() => []), [id]);
  const can = useCan();
  const [quotes, reloadQuotes] = useQuotes(id);
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState('');
  const [mergeWith, setMergeWith] = useState([]);
  const [callTask, setCallTask] = useState(null);   // the call task being finished (CloseDialog's call step)
  const titleRef = useRef(null);
  const lead = leadState.data;
  const leadRef = useRef(null);
  leadRef.current = lead;

  const refreshAll = () => { reloadTrans(); reloadTl(); reloadTasks(); reloadWaiting(); };
  const setLead = (l) => { setLeadData(l); reloadTrans(); };
  const save = async (changes) => {
    const cur = leadRef.current;
    try {
      const updated = await api.leads.update(id, changes, cur.version);
      setLeadData(updated && updated.id ? updated : await api.leads.read(id));
      reloadTl(); reloadTrans();
      return { ok: true };
    } catch (e) {
      if (isConflict(e)) {
        try { return { conflict: await api.leads.read(id) }; } catch (e2) { return { error: e2 }; }
      }
      return { error: e };
    }
  };

  if (leadState.loading && !lead) return html`<section class="page"><${Spinner} /></section>`;
  if (!lead) return html`<section class="page"><p><${Link} href="/leads">← Leads<//></p>
    <${ErrorBox} error=${leadState.error && leadState.error.status === 404 ? 'This lead does not exist or was deleted.' : leadState.error} /></section>`;
  const closed = lead.status === 'closed';
  const newTask = () => { titleRef.current ? titleRef.current.focus() : null; titleRef.current && titleRef.current.scrollIntoView({ block: 'center' }); };
  return html`<section class="page lead-page">
    <p class="crumbs"><${Link} href="/leads">← Leads<//></p>
    <div class="page-head lead-head">
      <div>
        <h1>${lead.full_name}</h1>
        <p class="sub">${lead.company ? lead.company + ' · ' : ''}<${StatusBadge} lead=${lead} outcomes=${refs.outcomes} /> <${SlaBadge} lead=${lead} />
          <span class="muted"> · created ${fmtDateTime(lead.created_at)} · owner ${nameOf(refs.users, lead.owner_id, '—')}${' · '}${lead.last_contacted_at ? html`last contacted <time class="last-contacted" datetime=${lead.last_contacted_at}>${fmtDateTime(lead.last_contacted_at)}</time>` : 'not contacted yet'}</span></p>
      </div>
      <div class="head-actions">
        ${!closed ? html`<button type="button" class="btn btn-primary" onClick=${() => setDialog('close')}>Close lead…</button>` : null}
        <${Menu} label="Actions" items=${[
          !closed && { label: 'Close lead…', onSelect: () => setDialog('close') },
          !closed && { label: 'Convert to customer…', onSelect: () => setDialog('convert') },
          closed && { label: 'Reopen…', onSelect: () => setDialog('reopen') },
          { label: 'New task', onSelect: newTask },
          !lead.merged_into && { label: 'Merge…', onSelect: () => { setMergeWith([]); setDialog('merge'); } },
          can.delete !== 'deny' && { label: 'Delete…', danger: true, onSelect: () => setDialog('delete') },
        ]} />
      </div>
    </div>
    <${Notice} text=${notice} />
    <${ApprovalBanner} requests=${waiting.data} onDecided=${(how) => { reloadLead(); refreshAll(); setNotice(how === 'approved' ? 'Approved: the request was carried out.' : 'Declined: the requester was told, with your note.'); }} />
    <${ClosedSummary} lead=${lead} />
    <${StatusPath} lead=${lead} transitions=${trans.data} save=${save} setLead=${setLead} onClose=${() => setDialog('close')} />
    <div class="lead-grid">
      <div class="lead-main">
        <section class="card" aria-labelledby="details-h">
          <h2 id="details-h">Details</h2>
          <div class="fields">${editableFields(meta).map((f) => html`<${EditableField} key=${f.key} f=${f} lead=${lead} save=${save} setLead=${setLead} />`)}</div>
          ${lead.last_contacted_at || lead.sold_at || lead.review_requested_at || lead.updated_at ? html`<dl class="kv meta">
            ${lead.last_contacted_at ? html`<dt>Last contacted</dt><dd>${fmtDateTime(lead.last_contacted_at)}</dd>` : null}
            ${lead.sold_at ? html`<dt>Sold</dt><dd>${fmtDateTime(lead.sold_at)}</dd>` : null}
            ${lead.review_requested_at ? html`<dt>Review requested</dt><dd>${fmtDateTime(lead.review_requested_at)}</dd>` : null}
            ${lead.updated_at ? html`<dt>Last changed</dt><dd>${fmtDateTime(lead.updated_at)}</dd>` : null}
          </dl>` : null}
        </section>
        <${Quotes} lead=${lead} quotes=${quotes} reload=${reloadQuotes} onChanged=${() => { reloadLead(); reloadTl(); }} />
        <${Conversations} lead=${lead} onActivity=${() => { reloadLead(); reloadTl(); }} />
        <${Timeline} leadId=${id} tl=${tl} reload=${reloadTl} />
      </div>
      <div class="lead-side">
        <${Tasks} lead=${lead} tasks=${tasks} reload=${() => { reloadTasks(); reloadTl(); }} titleRef=${titleRef}
          onFinishCall=${(t) => { setCallTask(t); setDialog('call'); }} />
        <${ScoreCard} lead=${lead} />
        <${TicketsCard} owner=${{ lead: lead.id }} defaultRequester=${lead.full_name + (lead.emails && lead.emails[0] ? ` <${lead.emails[0]}>` : '')} />
        <${RelatedCard} lead=${lead} version=${lead.version} onMerge=${(ids) => { setMergeWith(ids); setDialog('merge'); }} />
        ${lead.groups && lead.groups.length ? html`<section class="card"><h2>Groups</h2>
          <ul class="chips">${lead.groups.map((g) => html`<li>${nameOf(refs.groups, g)}</li>`)}</ul></section>` : null}
      </div>
    </div>
    <${CloseDialog} open=${dialog === 'close'} lead=${lead} tasks=${tasks.data || []} transitions=${trans.data || []}
      onClose=${() => setDialog(null)} onRefresh=${() => { reloadLead(); reloadTasks(); reloadTrans(); }}
      onDone=${(r) => { setDialog(null); if (r && r.lead) setLeadData(r.lead); else reloadLead(); refreshAll(); setNotice(r && r.message || ''); }} />
    ${callTask ? html`<${CloseDialog} open=${dialog === 'call'} call=${callTask} lead=${lead} tasks=${tasks.data || []} transitions=${trans.data || []}
      onClose=${() => { setDialog(null); reloadTasks(); reloadTl(); }} onRefresh=${() => { reloadLead(); reloadTasks(); reloadTrans(); }}
      onDone=${(r) => { setDialog(null); if (r && r.lead) setLeadData(r.lead); else reloadLead(); refreshAll(); setNotice(r && r.message || ''); }} />` : null}
    <${ReopenDialog} open=${dialog === 'reopen'} lead=${lead} onClose=${() => setDialog(null)}
      onDone=${(r) => { setDialog(null); if (r && r.id) setLeadData(r); else reloadLead(); refreshAll(); setNotice(r ? 'Lead reopened.' : ''); }} />
    <${DeleteDialog} open=${dialog === 'delete'} lead=${lead} onClose=${() => setDialog(null)} />
    <${ConvertWizard} open=${dialog === 'convert'} lead=${lead} quotes=${quotes.data || []} onClose=${() => setDialog(null)}
      onDone=${(r) => { setDialog(null); reloadLead(); refreshAll(); reloadQuotes(); setNotice(r && r.approval ? 'Conversion sent for approval.' : ''); }} />
    <${MergeDialog} open=${dialog === 'merge'} lead=${lead} preselect=${mergeWith} onClose=${() => setDialog(null)}
      showValue=${showValue} fieldLabel=${fieldLabel}
      onDone=${(r) => { setDialog(null); if (r && r.lead) setLeadData(r.lead); else reloadLead(); refreshAll();
        setNotice(r && r.merged_ids ? `Merged ${r.merged_ids.length === 1 ? 'one lead' : r.merged_ids.length + ' leads'} into this one.` : ''); }} />
  </section>`;
}
