// pages/dashboard.js — my leads (Open/Closed/All), follow-ups due within now ± the settings'
// follow-up window, overdue tasks, approvals waiting for me, and each lead's age against the
// settings' warning and breach days.
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, useSlaDays, slaText, Link, ErrorBox, Spinner } from '../ui.js';
import { LeadsTable } from '../components/leads-table.js';
import { ApprovalCard } from '../components/approvals.js';
import { useNotes } from '../components/notifications.js';
import { fmtDateTime, fmtRelative, addDays, useLoader, humanize, plural } from '../util.js';

const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const count = (v) => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : (v && v.count) ?? '—');

function TaskList({ items, empty, overdue }) {
  const [all, setAll] = useState(false);
  if (!items.length) return html`<p class="empty">${empty}</p>`;
  const shown = all ? items : items.slice(0, 8);
  return html`<ul class="task-mini">${shown.map((t) => html`<li key=${t.id} class=${overdue ? 'overdue' : ''}>
    <div><${Link} href=${'/leads/' + t.lead_id}>${t.title || humanize(t.type)}<//>
      <span class="sub">${t.lead_name || ''}${t.lead_name ? ' · ' : ''}${humanize(t.type)}</span></div>
    <time datetime=${t.due_at} title=${fmtDateTime(t.due_at)}>${fmtRelative(t.due_at)}</time>
  </li>`)}</ul>
  ${items.length > 8 ? html`<button type="button" class="btn btn-ghost btn-small" aria-expanded=${all ? 'true' : 'false'}
    onClick=${() => setAll(!all)}>${all ? 'Show fewer' : `Show all ${items.length}`}</button>` : null}`;
}

// Approvals waiting for the caller (a manager's team asking to close or reopen), each named in
// words with the lead's tasks; declining asks for a note in a dialog (components/approvals.js).
function Approvals({ onDecided }) {
  const [state, reload] = useLoader(() => api.approvals.list({ status: 'pending' }), []);
  const items = (state.data || []).filter((a) => a.can_decide);
  if (!items.length && !state.error) return null;
  return html`<section class="card" aria-labelledby="approvals-h">
    <h2 id="approvals-h">Waiting for your approval</h2>
    <${ErrorBox} error=${state.error} />
    <div class="approval-list">${items.slice(0, 5).map((a) => html`<${ApprovalCard} key=${a.id} a=${a} onDecided=${() => { reload(); onDecided(); }} />`)}</div>
    ${items.length > 5 ? html`<p class="more"><${Link} href="/approvals">All ${items.length} requests →<//></p>` : null}
  </section>`;
}

export function Dashboard() {
  const { user, settings } = useApp();
  const days = useSlaDays();
  const notes = useNotes();
  const [status, setStatus] = useState('open');
  const [mine, setMine] = useState(true);
  const [stats, reloadStats] = useLoader(() => api.dashboard.load(), []);
  const s = stats.data || {};
  // the window of "follow-ups due": the dashboard's own answer, else the settings'
  const fuWindow = s.follow_up_window_days ?? settings.follow_up_window_days ?? null;
  const [tasks] = useLoader(async () => {
    if (fuWindow === null) return null;
    const now = new Date();
    const [soon, overdue] = await Promise.all([
      api.tasks.list({ assignee: 'me', status: 'open', due_from: iso(addDays(now, -fuWindow)), due_to: iso(addDays(now, fuWindow)), limit: 100 }),
      api.tasks.list({ assignee: 'me', status: 'open', due_to: iso(now), limit: 100 }),
    ]);
    const t = Date.now();
    return { soon: (soon.items || []).sort((a, b) => a.due_at.localeCompare(b.due_at)),
      overdue: (overdue.items || []).filter((x) => x.due_at && new Date(x.due_at).getTime() < t).sort((a, b) => a.due_at.localeCompare(b.due_at)) };
  }, [fuWindow]);
  const [leads] = useLoader(() => api.leads.list({ status, owner: mine ? 'me' : 'any', sort: '-created_at', limit: 25, total: 1 }), [status, mine]);
  const within = fuWindow !== null ? `±${fuWindow} days` : '';
  // the header's count is live (polled, and changed by "Mark read"); the dashboard's until it comes
  const unread = notes && notes.unread !== null ? notes.unread : s.unread_notifications;
  const card = (label, value, href, tone = '') => href.startsWith('#')
    ? html`<a href=${href} class=${'stat ' + tone}><span class="stat-value">${value}</span><span class="stat-label">${label}</span></a>`
    : html`<${Link} href=${href} class=${'stat ' + tone}><span class="stat-value">${value}</span><span class="stat-label">${label}</span><//>`;
  return html`<section class="page">
    <div class="page-head"><h1>Hello, ${(user.name || user.email).split(' ')[0]}</h1></div>
    <${ErrorBox} error=${stats.error} />
    <div class="stats" aria-label="Summary">
      ${card('Open leads', count(s.open_leads), '/leads?status=open')}
      ${card(`Follow-ups due ${within}`.trim(), count(s.follow_ups), '#due-soon')}
      ${card('Overdue tasks', count(s.overdue), '#overdue', count(s.overdue) ? 'tone-bad' : '')}
      ${card(slaText('warning', days), count(s.sla_warning), '/leads?sla=warning', count(s.sla_warning) ? 'tone-warn' : '')}
      ${card(slaText('breached', days), count(s.sla_breached), '/leads?sla=breached', count(s.sla_breached) ? 'tone-bad' : '')}
      ${s.needs_reply !== undefined ? card('Need a reply', count(s.needs_reply), '/leads?needs_reply=1&status=all', count(s.needs_reply) ? 'tone-warn' : '') : null}
      ${s.pending_approvals !== undefined ? card('Pending approvals', count(s.pending_approvals), '#approvals-h') : null}
      ${unread !== undefined && notes ? html`<button type="button" class=${'stat stat-btn' + (unread ? ' tone-info' : '')}
        aria-expanded=${notes.open ? 'true' : 'false'} onClick=${() => notes.setOpen(!notes.open)}>
        <span class="stat-value">${count(unread)}</span><span class="stat-label">Unread notifications</span></button>` : null}
    </div>
    <div class="dash-grid">
      <section class="card dash-leads" aria-labelledby="my-leads">
        <div class="card-head">
          <h2 id="my-leads">${mine ? 'My leads' : 'All leads'}</h2>
          <div class="seg" role="group" aria-label="Whose leads">
            <button type="button" aria-pressed=${mine ? 'true' : 'false'} onClick=${() => setMine(true)}>Mine</button>
            <button type="button" aria-pressed=${!mine ? 'true' : 'false'} onClick=${() => setMine(false)}>Everyone's</button>
          </div>
          <div class="seg" role="group" aria-label="Lead status">
            ${['open', 'closed', 'all'].map((k) => html`<button type="button" aria-pressed=${status === k ? 'true' : 'false'}
              onClick=${() => setStatus(k)}>${humanize(k)}</button>`)}
          </div>
        </div>
        <${ErrorBox} error=${leads.error} />
        ${leads.loading && !leads.data ? html`<${Spinner} />` : html`<div class=${leads.loading ? 'dim' : ''}>
          <${LeadsTable} compact items=${(leads.data && leads.data.items) || []} caption=${'My leads, ' + status}
            emptyText=${status === 'open' ? 'No open leads. Nice work.' : 'No leads here.'} /></div>
          ${leads.data && leads.data.next_cursor ? html`<p class="more"><${Link}
            href=${`/leads?status=${status}&owner=${mine ? 'me' : 'any'}`}>See all ${leads.data.total ? plural(leads.data.total, 'lead') : 'leads'} →<//></p>` : null}`}
        ${days.warn !== null ? html`<p class="hint">Age counts days open: amber after ${days.warn} days, red after ${days.breach} (time in “waiting” stages does not count).</p>` : null}
      </section>
      <div class="dash-side">
        ${s.pending_approvals ? html`<${Approvals} onDecided=${reloadStats} />` : null}
        <section class="card" aria-labelledby="due-soon">
          <h2 id="due-soon">Follow-ups due${fuWindow !== null ? ` (now ± ${fuWindow} days)` : ''}</h2>
          <${ErrorBox} error=${tasks.error} />
          ${tasks.loading && !tasks.data ? html`<${Spinner} />` : html`<${TaskList} items=${tasks.data ? tasks.data.soon : []} empty="Nothing due around now." />`}
        </section>
        <section class="card" aria-labelledby="overdue">
          <h2 id="overdue">Overdue tasks</h2>
          ${tasks.loading && !tasks.data ? html`<${Spinner} />` : html`<${TaskList} items=${tasks.data ? tasks.data.overdue : []} empty="No overdue tasks." overdue />`}
        </section>
      </div>
    </div>
  </section>`;
}
