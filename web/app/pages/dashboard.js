// pages/dashboard.js — my (or, for a manager, my team's) figures and leads, follow-ups due within
// now ± the settings' follow-up window, overdue tasks older than that window (the two lists never
// repeat each other), approvals waiting for me, and each lead's age against the settings' warning
// and breach days. One call to GET /dashboard (?scope=mine|team) gives figures and task lists.
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, useCan, useSlaDays, slaText, Link, ErrorBox, Spinner, nameOf } from '../ui.js';
import { LeadsTable } from '../components/leads-table.js';
import { ApprovalCard } from '../components/approvals.js';
import { useNotes } from '../components/notifications.js';
import { fmtRelative, fmtDateTime, useLoader, humanize, plural } from '../util.js';

const count = (v) => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : (v && v.count) ?? '—');
const SHOWN = 8;
const JUST_NOW_MS = 15 * 60 * 1000;   // the newest task, created this recently, is always shown

// The follow-ups as a person wants them: what is coming first (soonest first), then what was
// missed within the window (most recent first); a task just created is never hidden behind
// "Show all".
export function orderFollowUps(items, now = Date.now()) {
  const coming = items.filter((t) => !t.overdue).sort((a, b) => a.due_at.localeCompare(b.due_at));
  const missed = items.filter((t) => t.overdue).sort((a, b) => b.due_at.localeCompare(a.due_at));
  return [...coming, ...missed];
}

function TaskList({ items, empty, team, id, more = 0 }) {
  const { refs } = useApp();
  const [all, setAll] = useState(false);
  if (!items.length) return html`<p class="empty">${empty}</p>`;
  // the task created last, if that was a moment ago, is shown wherever it falls in the order
  const now = Date.now();
  const newest = items.reduce((a, t) => (t.created_at && (!a || t.created_at > a.created_at) ? t : a), null);
  const fresh = (t) => t === newest && now - new Date(t.created_at).getTime() < JUST_NOW_MS;
  const shown = all ? items : items.filter((t, i) => i < SHOWN || fresh(t));
  return html`<ul class="task-mini" id=${id}>${shown.map((t) => html`<li key=${t.id} class=${t.overdue ? 'overdue' : ''} data-task-id=${t.id}>
    <div><${Link} href=${'/leads/' + t.lead_id}>${t.title || humanize(t.type)}<//>
      <span class="sub">${t.lead_name || ''}${t.lead_name ? ' · ' : ''}${humanize(t.type)}${team && t.assignee_id ? ' · ' + nameOf(refs.users, t.assignee_id, '') : ''}${fresh(t) ? ' · just added' : ''}</span></div>
    <time datetime=${t.due_at} title=${fmtDateTime(t.due_at)}><span class="rel">${t.overdue ? 'due ' : ''}${fmtRelative(t.due_at)}</span><span class="sr-only">, </span>
      <span class="abs">${fmtDateTime(t.due_at)}</span></time>
  </li>`)}</ul>
  ${items.length > shown.length || all ? html`<button type="button" class="btn btn-ghost btn-small" aria-expanded=${all ? 'true' : 'false'} aria-controls=${id}
    onClick=${() => setAll(!all)}>${all ? 'Show fewer' : `Show all ${items.length}`}</button>` : null}
  ${more > 0 ? html`<p class="hint">${plural(more, 'more task')} not listed here.</p>` : null}`;
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
  const { user } = useApp();
  const can = useCan();
  const days = useSlaDays();
  const notes = useNotes();
  const [status, setStatus] = useState('open');
  // a manager (or anyone who sees more than their own leads) may look at the team's figures
  const teamOk = can.view === 'team' || can.view === 'all';
  const [scope, setScope] = useState('mine');
  const team = teamOk && scope === 'team';
  const [stats, reloadStats] = useLoader(() => api.dashboard.load(team ? 'team' : 'mine'), [team]);
  const s = stats.data || {};
  const fuWindow = s.follow_up_window_days ?? null;
  const [leads] = useLoader(() => api.leads.list({ status, owner: team ? 'any' : 'me', sort: status === 'closed' ? '-closed_at' : '-created_at', limit: 25, total: 1 }), [status, team]);
  const within = fuWindow !== null ? `±${fuWindow} days` : '';
  // the header's count is live (polled, and changed by "Mark read"); the dashboard's until it comes
  const unread = notes && notes.unread !== null ? notes.unread : s.unread_notifications;
  const card = (label, value, href, tone = '') => href.startsWith('#')
    ? html`<a href=${href} class=${'stat ' + tone}><span class="stat-value">${value}</span><span class="stat-label">${label}</span></a>`
    : html`<${Link} href=${href} class=${'stat ' + tone}><span class="stat-value">${value}</span><span class="stat-label">${label}</span><//>`;
  const owner = team ? 'any' : 'me';
  const followUps = stats.data ? orderFollowUps(s.follow_up_items || []) : [];
  const overdueItems = stats.data ? (s.overdue_items || []) : [];
  const whose = team ? 'Team' : 'My';
  return html`<section class="page">
    <div class="page-head"><h1>Hello, ${(user.name || user.email).split(' ')[0]}</h1>
      ${teamOk ? html`<div class="seg" role="group" aria-label="Whose figures">
        <button type="button" aria-pressed=${!team ? 'true' : 'false'} onClick=${() => setScope('mine')}>Mine</button>
        <button type="button" aria-pressed=${team ? 'true' : 'false'} onClick=${() => setScope('team')}>${can.view === 'all' ? 'Team (everyone)' : 'Team'}</button>
      </div>` : null}</div>
    <${ErrorBox} error=${stats.error} />
    <div class=${'stats' + (stats.loading && stats.data ? ' dim' : '')} aria-label=${team ? 'Summary of the team' : 'Summary'} role="group">
      ${card('Open leads', count(s.open_leads), `/leads?status=open&owner=${owner}`)}
      ${card(`Follow-ups due ${within}`.trim(), count(s.follow_ups), '#due-soon')}
      ${card('Overdue tasks', count(s.overdue), '#overdue', count(s.overdue) ? 'tone-bad' : '')}
      ${card(slaText('warning', days), count(s.sla_warning), `/leads?sla=warning&owner=${owner}`, count(s.sla_warning) ? 'tone-warn' : '')}
      ${card(slaText('breached', days), count(s.sla_breached), `/leads?sla=breached&owner=${owner}`, count(s.sla_breached) ? 'tone-bad' : '')}
      ${s.needs_reply !== undefined ? card('Need a reply', count(s.needs_reply), `/leads?needs_reply=1&status=all&owner=${owner}`, count(s.needs_reply) ? 'tone-warn' : '') : null}
      ${s.pending_approvals !== undefined ? card('Pending approvals', count(s.pending_approvals), '#approvals-h') : null}
      ${unread !== undefined && notes ? html`<button type="button" class=${'stat stat-btn' + (unread ? ' tone-info' : '')}
        aria-expanded=${notes.open ? 'true' : 'false'} onClick=${() => notes.setOpen(!notes.open)}>
        <span class="stat-value">${count(unread)}</span><span class="stat-label">Unread notifications</span></button>` : null}
    </div>
    <div class="dash-grid">
      <section class="card dash-leads" aria-labelledby="my-leads">
        <div class="card-head">
          <h2 id="my-leads">${team ? 'Team leads' : 'My leads'}</h2>
          <div class="seg" role="group" aria-label="Lead status">
            ${['open', 'closed', 'all'].map((k) => html`<button type="button" aria-pressed=${status === k ? 'true' : 'false'}
              onClick=${() => setStatus(k)}>${humanize(k)}</button>`)}
          </div>
        </div>
        <${ErrorBox} error=${leads.error} />
        ${leads.loading && !leads.data ? html`<${Spinner} />` : html`<div class=${leads.loading ? 'dim' : ''}>
          <${LeadsTable} compact=${!team} closedView=${status === 'closed'} items=${(leads.data && leads.data.items) || []} caption=${whose + ' leads, ' + status}
            emptyText=${status === 'open' ? 'No open leads. Nice work.' : 'No leads here.'} /></div>
          ${leads.data && leads.data.next_cursor ? html`<p class="more"><${Link}
            href=${`/leads?status=${status}&owner=${owner}`}>See all ${leads.data.total ? plural(leads.data.total, 'lead') : 'leads'} →<//></p>` : null}`}
        ${days.warn !== null ? html`<p class="hint">Age counts days open: amber after ${days.warn} days, red after ${days.breach} (time in “waiting” stages does not count).</p>` : null}
      </section>
      <div class="dash-side">
        ${s.pending_approvals ? html`<${Approvals} onDecided=${reloadStats} />` : null}
        <section class="card" aria-labelledby="due-soon">
          <h2 id="due-soon">${team ? 'Team follow-ups' : 'Follow-ups'} due${fuWindow !== null ? ` (now ± ${fuWindow} days)` : ''}</h2>
          ${stats.loading && !stats.data ? html`<${Spinner} />` : html`<${TaskList} id="due-soon-list" items=${followUps} team=${team}
            more=${(s.follow_up_total || 0) - followUps.length} empty="Nothing due around now." />`}
        </section>
        <section class="card" aria-labelledby="overdue">
          <h2 id="overdue">Overdue${fuWindow !== null ? ` for more than ${plural(fuWindow, 'day')}` : ' tasks'}</h2>
          ${fuWindow !== null && s.overdue > (s.overdue_total || 0) ? html`<p class="hint">${plural(s.overdue - (s.overdue_total || 0), 'task')} missed in the last ${plural(fuWindow, 'day')} ${s.overdue - (s.overdue_total || 0) === 1 ? 'is' : 'are'} under follow-ups.</p>` : null}
          ${stats.loading && !stats.data ? html`<${Spinner} />` : html`<${TaskList} id="overdue-list" items=${overdueItems} team=${team}
            more=${(s.overdue_total || 0) - overdueItems.length} empty="No older overdue tasks." />`}
        </section>
      </div>
    </div>
  </section>`;
}
