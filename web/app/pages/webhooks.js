// pages/webhooks.js — Settings › Webhooks (admins only): add a webhook (its signing secret is shown
// once, by the create), edit, pause/resume, delete, and each webhook's latest deliveries.
// Through api/webhooks.js.
import { html, useEffect, useLayoutEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Input, Check, ErrorBox, Spinner, FieldError, Dialog } from '../ui.js';
import { conflictOr } from '../conflict.js';
import { useLoader, fmtDateTime, fmtRelative } from '../util.js';

export const EVENT_KINDS = ['created', 'updated', 'stage_changed', 'closed', 'reopened', 'comment', 'task_created', 'task_done',
  'approval_requested', 'approval_decided', 'group_added'];

const isAll = (events) => !events || !events.length || events.includes('*');
export const eventsText = (events) => (isAll(events) ? 'All events' : events.join(', '));
function parseEvents(text) {
  return [...new Set(String(text || '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean))];
}

// The fields of a webhook, for adding (with an optional secret) and for editing (a new secret).
function WebhookFields({ f, set, fe, creating, idp }) {
  const all = f.all;
  return html`<div class="hook-fields">
    <${Input} id=${idp + '-url'} label="URL" type="url" value=${f.url} onInput=${(v) => set({ url: v })} error=${fe.url}
      placeholder="https://example.com/hooks/leadpath" autocomplete="off" spellcheck="false" class="wide" required />
    <fieldset class="group-box wide" aria-describedby=${fe.events ? idp + '-ev-err' : undefined}>
      <legend>Events</legend>
      <div class="radios">
        <label><input type="radio" name=${idp + '-events'} checked=${all} onChange=${() => set({ all: true })} /> All events</label>
        <label><input type="radio" name=${idp + '-events'} checked=${!all} onChange=${() => set({ all: false })} /> Only these events</label>
      </div>
      ${all ? null : html`<${Input} id=${idp + '-kinds'} label="Event kinds (comma-separated)" value=${f.kinds} onInput=${(v) => set({ kinds: v })}
        hint=${'For example: ' + EVENT_KINDS.join(', ')} autocomplete="off" spellcheck="false" />`}
      <${FieldError} id=${idp + '-ev-err'} error=${fe.events} />
    </fieldset>
    <${Input} id=${idp + '-secret'} label=${creating ? 'Signing secret (optional)' : 'New signing secret (optional)'} type="password"
      value=${f.secret} onInput=${(v) => set({ secret: v })} error=${fe.secret} autocomplete="new-password"
      hint=${creating ? 'Leave empty to have a strong one made for you. 16 to 200 characters.' : 'Leave empty to keep the current secret. 16 to 200 characters.'} />
    <div class="field field-end"><${Check} id=${idp + '-active'} label="Active (deliver events)" checked=${f.active} onChange=${(v) => set({ active: v })} />
      <${FieldError} error=${fe.active} /></div>
  </div>`;
}

const draftOf = (h) => ({ url: h ? h.url : '', all: h ? isAll(h.events) : true, kinds: h && !isAll(h.events) ? h.events.join(', ') : '',
  secret: '', active: h ? !!h.active : true });

// Turns a draft into a request body; a missing event list is answered here like the server would.
function bodyOf(f) {
  const events = f.all ? ['*'] : parseEvents(f.kinds);
  if (!events.length) return { error: { message: '', fields: { events: 'Name at least one event kind, or choose all events.' } } };
  const body = { url: f.url.trim(), events, active: !!f.active };
  if (f.secret) body.secret = f.secret;   // none: the create makes one, an edit keeps the old one
  return { body };
}

// The secret answered by the create, shown this once.
function SecretOnce({ hook, onDone }) {
  const box = useRef(null);
  const [copied, setCopied] = useState('');
  useLayoutEffect(() => { box.current?.focus(); }, []);
  const copy = async () => {
    try { await navigator.clipboard.writeText(hook.secret); setCopied('Copied.'); }
    catch { setCopied('Copying is not allowed here: select the secret and copy it.'); }
  };
  return html`<div class="notice notice-warn secret-once" role="region" aria-labelledby="secret-once-h" tabindex="-1" ref=${box}>
    <h3 id="secret-once-h">Signing secret for ${hook.url}</h3>
    <p><code class="secret" data-secret>${hook.secret}</code></p>
    <p><strong>Copy it now; it is not shown again.</strong> Receivers check each delivery's <code>X-Leadpath-Signature</code>
      (hex HMAC-SHA256 of the body) with it.</p>
    <div class="actions">
      ${copied ? html`<span class="saved" role="status">${copied}</span>` : null}
      <button type="button" class="btn btn-small" onClick=${copy}>Copy secret</button>
      <button type="button" class="btn btn-small btn-primary" onClick=${onDone}>I have copied it</button>
    </div>
  </div>`;
}

function AddWebhook({ onAdded }) {
  const [f, setF] = useState(() => draftOf(null));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const { body, error: bad } = bodyOf(f);
    if (bad) { setError(bad); return; }
    setBusy(true); setError(null);
    try {
      const hook = await api.webhooks.create(body);
      setF(draftOf(null));
      onAdded(hook);
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<form class="card add-form hook-form" onSubmit=${submit} aria-labelledby="hook-add-h" novalidate>
    <h3 id="hook-add-h">Add a webhook</h3>
    <${WebhookFields} f=${f} set=${(p) => setF({ ...f, ...p })} fe=${fe} creating idp="hook-new" />
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
    <div class="actions"><button class="btn btn-primary" type="submit" disabled=${busy}>${busy ? 'Adding…' : 'Add webhook'}</button></div>
  </form>`;
}

const STATUS_TONE = { done: 'sla-ok', failed: 'sla-breached', running: 'badge-open', queued: '' };

function Deliveries({ hook, id }) {
  const [state, reload] = useLoader(() => api.webhooks.deliveries(hook.id), [hook.id]);
  const items = (state.data && state.data.items) || [];
  return html`<div class="deliveries" id=${id}>
    <div class="card-head">
      <h4 id=${id + '-h'}>Deliveries</h4>
      <button type="button" class="btn btn-small" disabled=${state.loading} onClick=${reload}>${state.loading ? 'Refreshing…' : 'Refresh'}</button>
    </div>
    <${ErrorBox} error=${state.error} />
    ${state.loading && !state.data ? html`<${Spinner} />` : !items.length ? html`<p class="empty">No deliveries yet. Events are sent as they happen.</p>`
      : html`<div class="table-wrap"><table class="deliveries-table">
        <caption class="sr-only">Latest deliveries to ${hook.url}</caption>
        <thead><tr><th scope="col">Delivery</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th>
          <th scope="col">HTTP</th><th scope="col">Last error</th><th scope="col">Created</th><th scope="col">Finished / next try</th></tr></thead>
        <tbody>${items.map((d) => html`<tr key=${d.id} data-status=${d.status}>
          <td>#${d.id}</td><td>${d.event_id ? '#' + d.event_id : ''}</td>
          <td><span class=${'badge ' + (STATUS_TONE[d.status] || '')}>${d.status}</span></td>
          <td>${d.attempts ?? ''}</td><td>${d.http_status ?? '—'}</td>
          <td class="wrap">${d.last_error || ''}</td>
          <td><time datetime=${d.created_at} title=${fmtDateTime(d.created_at)}>${fmtRelative(d.created_at)}</time></td>
          <td>${d.finished_at ? html`<time datetime=${d.finished_at} title=${fmtDateTime(d.finished_at)}>${fmtRelative(d.finished_at)}</time>`
            : d.next_attempt_at ? html`<span>next ${html`<time datetime=${d.next_attempt_at} title=${fmtDateTime(d.next_attempt_at)}>${fmtRelative(d.next_attempt_at)}</time>`}</span>` : ''}</td>
        </tr>`)}</tbody></table></div>`}
  </div>`;
}

function DeleteWebhook({ hook, open, onClose, onDeleted }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true); setError(null);
    try { await api.webhooks.remove(hook.id, hook.version); onClose(); onDeleted(); }
    catch (err) { setError(conflictOr(err, 'webhook', 'Close this and look again.')); }
    setBusy(false);
  };
  return html`<${Dialog} open=${open} title="Delete webhook" onClose=${onClose}>
    <p>Delete the webhook to <b class="wrap">${hook.url}</b>? Deliveries not yet made are dropped; nothing more is sent there.</p>
    <${ErrorBox} error=${error} />
    <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Keep it</button>
      <button type="button" class="btn btn-danger" disabled=${busy} onClick=${go}>Delete webhook</button></div>
  <//>`;
}

function Webhook({ hook, onChanged }) {
  const [editing, setEditing] = useState(false);
  const [showDeliveries, setShowDeliveries] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [f, setF] = useState(() => draftOf(hook));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState('');
  const idp = 'hook-' + hook.id;
  const titleId = idp + '-title';
  useEffect(() => { if (!editing) setF(draftOf(hook)); }, [hook, editing]);
  const fail = (err) => setError(conflictOr(err, 'webhook', 'Reload to see their version; your edits are still in the form.'));
  const save = async (e) => {
    e.preventDefault();
    const { body, error: bad } = bodyOf(f);
    if (bad) { setError(bad); return; }
    setBusy(true); setError(null); setMsg('');
    try {
      await api.webhooks.update(hook.id, body, hook.version);
      setEditing(false); setMsg('Saved.'); onChanged();
    } catch (err) { fail(err); }
    setBusy(false);
  };
  const toggleActive = async () => {
    setBusy(true); setError(null); setMsg('');
    try {
      await api.webhooks.update(hook.id, { active: !hook.active }, hook.version);
      setMsg(hook.active ? 'Paused: nothing is sent until it is resumed.' : 'Resumed.');
      onChanged();
    } catch (err) { fail(err); }
    setBusy(false);
  };
  const reload = () => { setError(null); onChanged(); };
  const fe = (error && error.fields) || {};
  const delId = idp + '-deliveries';
  return html`<li class="set-row card hook" data-hook=${hook.id}>
    <div class="hook-head">
      <div class="hook-title">
        <h3 id=${titleId} class="hook-url">${hook.url}</h3>
        <span class=${'badge ' + (hook.active ? 'sla-ok' : 'badge-paused')}>${hook.active ? 'Active' : 'Paused'}</span>
      </div>
      <p class="sub">${eventsText(hook.events)} · added <time datetime=${hook.created_at} title=${fmtDateTime(hook.created_at)}>${fmtRelative(hook.created_at)}</time>${hook.updated_at && hook.updated_at !== hook.created_at
        ? html`, changed <time datetime=${hook.updated_at} title=${fmtDateTime(hook.updated_at)}>${fmtRelative(hook.updated_at)}</time>` : null}</p>
    </div>
    ${editing ? html`<form class="hook-form" onSubmit=${save} aria-label=${'Edit webhook ' + hook.url} novalidate>
        <${WebhookFields} f=${f} set=${(p) => setF({ ...f, ...p })} fe=${fe} idp=${idp} />
        <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null}>
          ${error && error.conflict ? html` <button type="button" class="btn btn-small" onClick=${reload}>Reload</button>` : null}<//>
        <div class="actions">
          <button type="button" class="btn btn-ghost" onClick=${() => { setEditing(false); setError(null); }}>Cancel</button>
          <button class="btn btn-primary" type="submit" disabled=${busy}>Save webhook</button>
        </div>
      </form>`
      : html`<div class="hook-actions" role="group" aria-labelledby=${titleId}>
        <button type="button" class="btn btn-small" onClick=${() => { setEditing(true); setMsg(''); setError(null); }}>Edit</button>
        <button type="button" class="btn btn-small" disabled=${busy} onClick=${toggleActive}>${hook.active ? 'Pause' : 'Resume'}</button>
        <button type="button" class="btn btn-small" aria-expanded=${showDeliveries ? 'true' : 'false'} aria-controls=${showDeliveries ? delId : undefined}
          onClick=${() => setShowDeliveries(!showDeliveries)}>Deliveries</button>
        <button type="button" class="btn btn-small btn-ghost danger-text" onClick=${() => setDeleting(true)}>Delete…</button>
        ${msg ? html`<span class="saved" role="status">${msg}</span>` : null}
      </div>
      <${ErrorBox} error=${error}>
        ${error && error.conflict ? html` <button type="button" class="btn btn-small" onClick=${reload}>Reload</button>` : null}<//>`}
    ${showDeliveries ? html`<${Deliveries} hook=${hook} id=${delId} />` : null}
    <${DeleteWebhook} hook=${hook} open=${deleting} onClose=${() => setDeleting(false)} onDeleted=${onChanged} />
  </li>`;
}

export function WebhooksSettings() {
  const [state, reload] = useLoader(() => api.webhooks.list(), []);
  const [created, setCreated] = useState(null);
  const items = (state.data && state.data.items) || [];
  return html`<div class="webhooks">
    <p class="hint">Each event (a lead created, updated, closed, …) is POSTed as JSON to every active webhook that wants its kind,
      signed with the webhook's secret; failed deliveries are retried for about an hour.</p>
    <${ErrorBox} error=${state.error} />
    ${created ? html`<${SecretOnce} hook=${created} onDone=${() => setCreated(null)} />` : null}
    ${state.loading && !state.data ? html`<${Spinner} />` : !items.length && !state.error
      ? html`<p class="empty">No webhooks yet.</p>`
      : html`<ul class="set-list">${items.map((h) => html`<${Webhook} key=${h.id} hook=${h} onChanged=${reload} />`)}</ul>`}
    <${AddWebhook} onAdded=${(h) => { setCreated(h); reload(); }} />
  </div>`;
}
