// components/tickets.js — the Tickets card of the lead page and the customer page: the open
// tickets first, then the closed ones (each with its priority, requester, assignee and comment
// count, linking to its page), and the "New ticket" dialog (subject, details, priority, on whose
// behalf, assignee; the server's field errors shown at each field). docs/tickets.md.
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Link, Dialog, ErrorBox, Spinner, Input, Textarea, Select, useApp, optionsOf } from '../ui.js';
import { fmtDate, plural, useLoader, uid } from '../util.js';

export const PRIORITIES = [{ value: 'low', label: 'Low' }, { value: 'normal', label: 'Normal' }, { value: 'high', label: 'High' },
  { value: 'urgent', label: 'Urgent' }];
export const priorityLabel = (p) => (PRIORITIES.find((x) => x.value === p) || { label: p }).label;

// Anyone active may be given a ticket: its assignee sees it (docs/tickets.md).
export const activeUsers = (users) => (users || []).filter((u) => u.active !== false);

export function PriorityBadge({ p }) {
  return html`<span class=${'badge ticket-priority ticket-priority-' + p}>${priorityLabel(p)}</span>`;
}
export function TicketStatus({ t }) {
  return html`<span class=${'badge ' + (t.status === 'open' ? 'badge-open' : 'badge-closed')}>${t.status === 'open' ? 'Open' : 'Closed'}</span>`;
}

function TicketItem({ t }) {
  return html`<li class=${'ticket-item ticket-' + t.status} data-ticket=${t.id}>
    <div><${Link} href=${'/tickets/' + t.id}>${t.subject}<//> <${PriorityBadge} p=${t.priority} /></div>
    <div class="muted small">#${t.id} · ${t.requester || '—'} · ${t.assignee_name ? 'assigned to ' + t.assignee_name : 'unassigned'}
      · ${plural(t.comment_count, 'comment')} · ${t.status === 'open' ? 'opened ' + fmtDate(t.created_at) : 'closed ' + fmtDate(t.closed_at)}</div>
  </li>`;
}

// owner: {lead: id} or {customer: id}; defaultRequester: the name shown as the placeholder.
export function TicketsCard({ owner, defaultRequester }) {
  const [st, reload] = useLoader(() => (owner.customer ? api.tickets.ofCustomer(owner.customer) : api.tickets.ofLead(owner.lead)),
    [owner.lead, owner.customer]);
  const [adding, setAdding] = useState(false);
  const all = st.data || [];
  const open = all.filter((t) => t.status === 'open');
  const closed = all.filter((t) => t.status !== 'open');
  return html`<section class="card tickets-card" aria-labelledby="tickets-h">
    <div class="card-head"><h2 id="tickets-h">Tickets</h2>
      <button type="button" class="btn btn-small" onClick=${() => setAdding(true)}>New ticket</button></div>
    ${st.loading && !st.data ? html`<${Spinner} />` : null}
    <${ErrorBox} error=${st.error} />
    ${st.data && !all.length ? html`<p class="muted">No tickets yet.</p>` : null}
    ${open.length ? html`<h3 class="small">Open (${open.length})</h3><ul class="ticket-list ticket-list-open">${open.map((t) => html`<${TicketItem} key=${t.id} t=${t} />`)}</ul>` : null}
    ${closed.length ? html`<h3 class="small">Closed (${closed.length})</h3><ul class="ticket-list ticket-list-closed">${closed.map((t) => html`<${TicketItem} key=${t.id} t=${t} />`)}</ul>` : null}
    <${NewTicketDialog} open=${adding} owner=${owner} defaultRequester=${defaultRequester} onClose=${() => setAdding(false)}
      onDone=${() => { setAdding(false); reload(); }} />
  </section>`;
}

export function NewTicketDialog({ open, owner, defaultRequester, onClose, onDone }) {
  const { refs } = useApp();
  const blank = { subject: '', body: '', priority: 'normal', requester: '', assignee_id: '' };
  const [f, setF] = useState(blank);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [idem, setIdem] = useState(() => uid('ticket'));
  const set = (k) => (v) => setF({ ...f, [k]: v });
  const fe = (k) => error && error.fields && error.fields[k];
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    const body = { subject: f.subject, priority: f.priority };
    if (f.body.trim()) body.body = f.body;
    if (f.requester.trim()) body.requester = f.requester.trim();
    if (f.assignee_id) body.assignee_id = Number(f.assignee_id);
    try { const t = await api.tickets.create(owner, body, idem); setF(blank); setIdem(uid('ticket')); onDone(t); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  return html`<${Dialog} open=${open} title="New ticket" onClose=${onClose}>
    <form class="ticket-form" onSubmit=${submit}>
      <${Input} label="Subject" value=${f.subject} onInput=${set('subject')} error=${fe('subject')} required maxLength="300" />
      <${Textarea} label="Details" value=${f.body} onInput=${set('body')} error=${fe('body')} rows="4" />
      <${Select} label="Priority" value=${f.priority} onChange=${set('priority')} options=${PRIORITIES} error=${fe('priority')} />
      <${Input} label="On behalf of" value=${f.requester} onInput=${set('requester')} error=${fe('requester')}
        placeholder=${defaultRequester || ''} hint="Who asked; left empty, the name and e-mail on file." />
      <${Select} label="Assignee" value=${f.assignee_id} onChange=${set('assignee_id')} options=${optionsOf(activeUsers(refs.users))}
        empty="Nobody yet" error=${fe('assignee_id')} />
      <${ErrorBox} error=${error && !(error.fields && Object.keys(error.fields).length) ? error : null} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button type="submit" class="btn btn-primary" disabled=${busy}>Open ticket</button></div>
    </form>
  <//>`;
}
