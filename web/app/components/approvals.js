// components/approvals.js — requests that a role's policy sent for approval, as people read them
// (api/approvals.js): a card naming the lead, the requester, the outcome and reason in words, the
// notes, the follow-up asked for and the lead's open and overdue tasks, with Approve and Decline
// for whoever may decide (the server's can_decide); the decline dialog with its note; the banner
// on a lead whose request waits. Used by the dashboard, the Approvals page and the lead page.
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Link, Dialog, Textarea, ErrorBox } from '../ui.js';
import { fmtDateTime, fmtRelative, humanize, plural } from '../util.js';

// "close as Lost" / "close Jane Doe as Lost" / "reopen the lead": what was asked, in words (a: an
// approval, or a notification's or event's data).
export function askedWords(a, lead) {
  if (a.action === 'reopen') return lead ? `reopen ${lead}` : 'reopen the lead';
  const key = a.outcome || (a.params && a.params.outcome);
  const o = a.outcome_name || (key ? humanize(key) : '');
  if (!o) return humanize(a.action || 'act').toLowerCase() + (lead ? ` ${lead}` : '');
  return lead ? `close ${lead} as ${o}` : `close as ${o}`;
}

// "Declined by Max Manager: “call them again next week”" (or approved, cancelled).
export function decisionWords(a) {
  const by = a.decided_by_name ? ` by ${a.decided_by_name}` : '';
  const st = a.status === 'cancelled' ? 'Cancelled' : humanize(a.status);
  return `${st}${by}${a.note ? `: “${a.note}”` : ''}`;
}

export function DeclineDialog({ approval, onClose, onDone }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try { await api.approvals.decline(approval.id, note.trim()); setNote(''); onDone(); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  return html`<${Dialog} open=${!!approval} title="Decline the request" onClose=${onClose}>
    ${approval ? html`<form onSubmit=${submit}>
      <p>${approval.requested_by_name || 'The requester'} asked to ${askedWords(approval)} <b>${approval.lead_name}</b>.
        Nothing changes on the lead; your note goes to them and onto the lead's timeline.</p>
      <${Textarea} label="Note for the requester (optional)" value=${note} onInput=${setNote} rows="3" maxlength="4000"
        placeholder="e.g. call them again next week" error=${error && error.fields && error.fields.note} autofocus />
      <${ErrorBox} error=${error && !(error.fields && error.fields.note) ? error : null} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-danger" type="submit" disabled=${busy}>Decline</button></div>
    </form>` : null}
  <//>`;
}

function TaskLines({ a }) {
  const tasks = a.open_tasks || [];
  if (!tasks.length) return html`<p class="sub">No open tasks on this lead.</p>`;
  return html`<div class="ap-tasks"><p class="sub">${plural(tasks.length, 'open task')}${a.overdue_tasks ? html`, <span class="overdue-word">${a.overdue_tasks} overdue</span>` : ''}:</p>
    <ul class="plain">${tasks.slice(0, 5).map((t) => html`<li class=${t.overdue ? 'overdue' : ''}>${t.title || humanize(t.type)}
      ${t.due_at ? html` · <time datetime=${t.due_at} title=${fmtDateTime(t.due_at)}>${t.overdue ? 'overdue, ' : ''}due ${fmtDateTime(t.due_at)}</time>` : null}</li>`)}
      ${tasks.length > 5 ? html`<li>… and ${tasks.length - 5} more</li>` : null}</ul></div>`;
}

// One request. onDecided: after approve/decline (the caller reloads); showLead: a link heading.
export function ApprovalCard({ a, onDecided, showLead = true, headingLevel = 3 }) {
  const [declining, setDeclining] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const p = a.params || {};
  const fu = p.follow_up && typeof p.follow_up === 'object' ? p.follow_up : null;
  const approve = async () => {
    setBusy(true); setError(null);
    try { await api.approvals.approve(a.id); onDecided && onDecided('approved'); }
    catch (e) { setError(e); }
    setBusy(false);
  };
  const H = `h${headingLevel}`;
  return html`<article class=${'approval card-inner status-' + a.status} data-approval-id=${a.id} aria-label=${`Request: ${askedWords(a)} ${a.lead_name}`}>
    ${showLead ? html`<${H} class="ap-title"><${Link} href=${'/leads/' + a.lead_id}>${a.lead_name || 'Lead'}<//><//>` : null}
    <p class="ap-what"><b>${a.requested_by_name || 'Someone'}</b> asks to <b>${askedWords(a)}</b>
      <span class="sub"> · <time datetime=${a.created_at} title=${fmtDateTime(a.created_at)}>${fmtRelative(a.created_at)} (${fmtDateTime(a.created_at)})</time></span></p>
    <dl class="kv ap-kv">
      ${a.reason_name ? html`<dt>Reason</dt><dd>${a.reason_name}</dd>` : null}
      ${p.notes ? html`<dt>Notes</dt><dd class="pre">${p.notes}</dd>` : null}
      ${fu ? html`<dt>Follow-up asked</dt><dd>${fu.title || humanize(fu.type || 'follow-up')}${fu.due_at ? ` · due ${fmtDateTime(fu.due_at)}` : ''}</dd>` : null}
      ${a.status !== 'pending' ? html`<dt>Decision</dt><dd class="ap-decision">${decisionWords(a)}</dd>`
        : html`<dt>Decides</dt><dd>${a.approver_name || 'an admin'}</dd>`}
    </dl>
    ${a.status === 'pending' ? html`<${TaskLines} a=${a} />` : null}
    <${ErrorBox} error=${error} />
    ${a.can_decide ? html`<div class="task-actions">
      <button type="button" class="btn btn-small btn-primary" disabled=${busy} onClick=${approve}>Approve<span class="sr-only"> ${askedWords(a)} ${a.lead_name}</span></button>
      <button type="button" class="btn btn-small btn-ghost" disabled=${busy} onClick=${() => setDeclining(true)}>Decline…<span class="sr-only"> ${a.lead_name}</span></button>
    </div>` : null}
    <${DeclineDialog} approval=${declining ? a : null} onClose=${() => setDeclining(false)}
      onDone=${() => { setDeclining(false); onDecided && onDecided('declined'); }} />
  </article>`;
}

// The banner on a lead whose request waits: what was asked, by whom, who decides; Approve and
// Decline for them. requests: the lead's pending approvals (api.approvals.list({lead})).
export function ApprovalBanner({ requests, onDecided }) {
  if (!requests || !requests.length) return null;
  const a = requests[0];
  return html`<section class="approval-banner" role="region" aria-labelledby="ap-banner-h">
    <h2 id="ap-banner-h">Waiting for approval</h2>
    <${ApprovalCard} a=${a} onDecided=${onDecided} showLead=${false} />
    ${!a.can_decide ? html`<p class="hint">Nothing changes until ${a.approver_name || 'an admin'} decides; no new request can be made meanwhile.</p>` : null}
  </section>`;
}
