// pages/approvals.js — Approvals: the requests waiting for the caller's decision (managers and
// admins: each named in words with the lead's tasks, Approve / Decline with a note) and "My
// requests" (everyone: what they asked, waiting or decided, with the decision and its note).
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useCan, ErrorBox, Spinner, Notice } from '../ui.js';
import { useLoader, humanize } from '../util.js';
import { ApprovalCard } from '../components/approvals.js';

const MINE = ['pending', 'declined', 'approved', 'cancelled', 'all'];

export function ApprovalsPage() {
  const can = useCan();
  const [notice, setNotice] = useState('');
  const [which, setWhich] = useState('all');
  const [inbox, reloadInbox] = useLoader(() => (can.approve ? api.approvals.list({ status: 'pending' }) : Promise.resolve([])), [can.approve]);
  const [mine, reloadMine] = useLoader(() => api.approvals.list({ status: which, mine: true }), [which]);
  const waiting = (inbox.data || []).filter((a) => a.can_decide);
  const decided = (how) => { setNotice(how === 'approved' ? 'Approved: the request was carried out.' : 'Declined: the requester was told, with your note.'); reloadInbox(); reloadMine(); };
  return html`<section class="page approvals-page">
    <div class="page-head"><h1>Approvals</h1></div>
    <${Notice} text=${notice} />
    ${can.approve ? html`<section class="card" aria-labelledby="inbox-h">
      <h2 id="inbox-h">Waiting for your decision <span class="count">${waiting.length}</span></h2>
      <${ErrorBox} error=${inbox.error} />
      ${inbox.loading && !inbox.data ? html`<${Spinner} />` : waiting.length
        ? html`<div class="approval-list">${waiting.map((a) => html`<${ApprovalCard} key=${a.id} a=${a} onDecided=${decided} />`)}</div>`
        : html`<p class="empty">Nothing is waiting for you.</p>`}
    </section>` : null}
    <section class="card" aria-labelledby="mine-h">
      <div class="card-head"><h2 id="mine-h">My requests</h2>
        <div class="seg" role="group" aria-label="Which requests">
          ${MINE.map((k) => html`<button type="button" aria-pressed=${which === k ? 'true' : 'false'} onClick=${() => setWhich(k)}>${k === 'all' ? 'All' : humanize(k)}</button>`)}
        </div></div>
      <${ErrorBox} error=${mine.error} />
      ${mine.loading && !mine.data ? html`<${Spinner} />` : (mine.data || []).length
        ? html`<div class="approval-list">${mine.data.map((a) => html`<${ApprovalCard} key=${a.id} a=${a} onDecided=${decided} />`)}</div>`
        : html`<p class="empty">${which === 'all' ? 'You have not asked for any approval.' : `No ${which} requests.`}</p>`}
    </section>
  </section>`;
}
