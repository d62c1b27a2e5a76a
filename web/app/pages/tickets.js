// pages/tickets.js — Tickets: the list of the tickets the caller may see (open by default; closed
// or all; search over subject, text, requester and name; "mine" for the caller's), and one
// ticket's page: its subject, text, requester, the lead or customer it is about, priority,
// assignee (changed in place with If-Match: a 412 is worded by conflict.js), close / reopen, and
// its comments oldest first with a box to add one. docs/tickets.md.
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Link, ErrorBox, Spinner, Notice, Select, Textarea, useApp, optionsOf } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';
import { fmtDate, fmtDateTime, useDebounced, useLoader, uid } from '../util.js';
import { PRIORITIES, PriorityBadge, TicketStatus, activeUsers } from '../components/tickets.js';

const STATUSES = [{ value: 'open', label: 'Open' }, { value: 'closed', label: 'Closed' }, { value: 'all', label: 'All' }];

const aboutLink = (t) => (t.customer_id
  ? html`<${Link} href=${'/customers/' + t.customer_id}>${t.customer_name || 'Customer #' + t.customer_id}<//> <span class="muted small">customer</span>`
  : t.lead_id ? html`<${Link} href=${'/leads/' + t.lead_id}>${t.lead_name || 'Lead #' + t.lead_id}<//> <span class="muted small">lead</span>` : '—');

export function TicketsPage() {
  const [status, setStatus] = useState('open');
  const [mine, setMine] = useState(false);
  const [q, setQ] = useState('');
  const [cursor, setCursor] = useState(null);
  const dq = useDebounced(q, 250);
  const [st] = useLoader(() => api.tickets.list({ status, q: dq || undefined, assignee: mine ? 'me' : undefined, cursor: cursor || undefined, limit: 50 }),
    [status, dq, mine, cursor]);
  const items = (st.data && st.data.items) || [];
  return html`<section class="page tickets-page">
    <div class="page-head"><h1>Tickets</h1></div>
    <form class="searchbar filters" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label class="sr-only" for="tk-q">Search tickets</label>
      <input id="tk-q" type="search" placeholder="Search subject, text, requester or name" value=${q}
        onInput=${(e) => { setQ(e.currentTarget.value); setCursor(null); }} />
      <${Select} label="Status" value=${status} onChange=${(v) => { setStatus(v); setCursor(null); }} options=${STATUSES} />
      <label class="check"><input type="checkbox" checked=${mine} onChange=${(e) => { setMine(e.currentTarget.checked); setCursor(null); }} /> Assigned to me</label>
    </form>
    <${ErrorBox} error=${st.error} />
    ${st.loading && !st.data ? html`<${Spinner} />` : items.length ? html`<div class="table-wrap"><table class="tickets-table">
      <thead><tr><th scope="col">Subject</th><th scope="col">About</th><th scope="col">Priority</th><th scope="col">Status</th>
        <th scope="col">Assignee</th><th scope="col">Opened</th></tr></thead>
      <tbody>${items.map((t) => html`<tr data-ticket=${t.id}>
        <td><${Link} href=${'/tickets/' + t.id}>${t.subject}<//></td><td>${aboutLink(t)}</td><td><${PriorityBadge} p=${t.priority} /></td>
        <td><${TicketStatus} t=${t} /></td><td>${t.assignee_name || '—'}</td><td>${fmtDate(t.created_at)}</td></tr>`)}</tbody></table></div>
      ${st.data.next_cursor ? html`<div class="actions"><button type="button" class="btn" onClick=${() => setCursor(st.data.next_cursor)}>Older tickets</button></div>` : null}`
    : html`<p class="empty">${dq ? 'No ticket matches that search.' : 'No tickets here. Open one from a lead or customer page.'}</p>`}
  </section>`;
}

export function TicketPage({ id }) {
  const { refs } = useApp();
  const [st, reload] = useLoader(() => api.tickets.read(id), [id]);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const [text, setText] = useState('');
  const [idem, setIdem] = useState(() => uid('tc'));
  const t = st.data;
  if (st.loading && !t) return html`<section class="page"><${Spinner} /></section>`;
  if (!t) return html`<section class="page"><p><${Link} href="/tickets">← Tickets<//></p>
    <${ErrorBox} error=${st.error && st.error.status === 404 ? 'This ticket does not exist or is not yours to see.' : st.error} /></section>`;
  const change = async (changes, said) => {
    setBusy(true); setError(null); setNotice('');
    try { await api.tickets.update(t.id, changes, t.version); setNotice(said); reload(); }
    catch (e) { setError(conflictOr(e, 'ticket', 'The page now shows the latest version: choose again.')); if (isConflict(e)) reload(); }
    setBusy(false);
  };
  const comment = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try { await api.tickets.comment(t.id, text, idem); setText(''); setIdem(uid('tc')); reload(); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  return html`<section class="page ticket-page">
    <p class="crumbs"><${Link} href="/tickets">← Tickets<//></p>
    <div class="page-head"><div><h1>${t.subject}</h1>
      <p class="sub"><${TicketStatus} t=${t} /> <${PriorityBadge} p=${t.priority} />
        <span class="muted"> · #${t.id} · opened ${fmtDateTime(t.created_at)}${t.closed_at ? ' · closed ' + fmtDateTime(t.closed_at) : ''}</span></p></div>
      <div class="actions">${t.status === 'open'
        ? html`<button type="button" class="btn btn-primary" disabled=${busy} onClick=${() => change({ status: 'closed' }, 'Ticket closed.')}>Close ticket</button>`
        : html`<button type="button" class="btn" disabled=${busy} onClick=${() => change({ status: 'open' }, 'Ticket reopened.')}>Reopen</button>`}</div></div>
    <${Notice} text=${notice} />
    <${ErrorBox} error=${error} />
    <div class="lead-grid"><div class="lead-main">
      <section class="card" aria-labelledby="tk-body-h"><h2 id="tk-body-h">Request</h2>
        ${t.body ? html`<p class="ticket-body">${t.body}</p>` : html`<p class="muted">No details given.</p>`}</section>
      <section class="card" aria-labelledby="tk-com-h"><h2 id="tk-com-h">Comments</h2>
        ${t.comments.length ? html`<ol class="ticket-comments">${t.comments.map((c) => html`<li key=${c.id} class="ticket-comment">
          <div class="small"><b>${c.author_name || 'System'}</b> <span class="muted">${fmtDateTime(c.created_at)}</span></div><p>${c.body}</p></li>`)}</ol>`
          : html`<p class="muted">No comments yet.</p>`}
        <form class="ticket-comment-form" onSubmit=${comment}>
          <${Textarea} label="Add a comment" value=${text} onInput=${setText} rows="3" error=${error && error.fields && error.fields.body} />
          <div class="actions"><button type="submit" class="btn btn-primary" disabled=${busy || !text.trim()}>Comment</button></div>
        </form>
      </section>
    </div><div class="lead-side">
      <section class="card" aria-labelledby="tk-d-h"><h2 id="tk-d-h">Details</h2>
        <dl class="kv">
          <dt>About</dt><dd>${aboutLink(t)}</dd>
          <dt>On behalf of</dt><dd>${t.requester || '—'}</dd>
        </dl>
        <${Select} label="Priority" value=${t.priority} options=${PRIORITIES} disabled=${busy}
          onChange=${(v) => change({ priority: v }, 'Priority changed.')} />
        <${Select} label="Assignee" value=${t.assignee_id ?? ''} options=${optionsOf(activeUsers(refs.users))} empty="Nobody" disabled=${busy}
          onChange=${(v) => change({ assignee_id: v ? Number(v) : null }, 'Assignee changed.')} />
      </section>
    </div></div>
  </section>`;
}
