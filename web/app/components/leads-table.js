// components/leads-table.js — a table of leads (name, stage, owner, source, status, age,
// created), optionally with row selection; used by the leads list and the dashboard. The closed
// view (closedView) shows each lead's outcome (and lost reason) and closing date instead of its age.
import { html, useLayoutEffect } from '/vendor/htm-preact.mjs';
import { useApp, Link, SlaBadge, StatusBadge, nameOf } from '../ui.js';
import { fmtDate, fmtDateTime } from '../util.js';

// Marks when the first rows are on screen after a login submit (read by the browser tests).
function markRendered() {
  if (performance.getEntriesByName('lp:login-submit').length && !performance.getEntriesByName('lp:leads-rendered').length) {
    performance.mark('lp:leads-rendered');
    try { performance.measure('lp:login-to-rows', 'lp:login-submit', 'lp:leads-rendered'); } catch { /* ignore */ }
  }
}

export function LeadsTable({ items, selected, onToggle, onToggleAll, caption, emptyText = 'No leads match.', compact = false, closedView = false }) {
  const { refs } = useApp();
  // layout effect: runs once the rows are in the DOM, before the browser paints them
  useLayoutEffect(() => { if (items && items.length) markRendered(); }, [items]);
  if (!items.length) return emptyText ? html`<p class="empty">${emptyText}</p>` : null;
  const selectable = !!onToggle;
  const allOn = selectable && items.every((l) => selected.has(l.id));
  return html`<div class="table-wrap"><table class="leads-table">
    ${caption ? html`<caption class="sr-only">${caption}</caption>` : null}
    <thead><tr>
      ${selectable ? html`<th class="col-check"><input type="checkbox" aria-label="Select all leads on this page" checked=${allOn}
        onChange=${(e) => onToggleAll(e.currentTarget.checked)} /></th>` : null}
      <th scope="col">Lead</th><th scope="col" class="hide-sm">Stage</th>${compact ? null : html`<th scope="col" class="hide-sm">Owner</th><th scope="col" class="hide-md">Source</th>`}
      ${closedView ? html`<th scope="col">Outcome</th><th scope="col">Closed</th>` : html`<th scope="col">Status</th><th scope="col">Age</th>`}
      <th scope="col" class="hide-md">Created</th>
    </tr></thead>
    <tbody>${items.map((l) => html`<tr key=${l.id} class=${selectable && selected.has(l.id) ? 'selected' : ''} data-lead-id=${l.id}>
      ${selectable ? html`<td class="col-check"><input type="checkbox" aria-label=${'Select ' + l.full_name} checked=${selected.has(l.id)}
        onChange=${() => onToggle(l.id)} /></td>` : null}
      <td><${Link} href=${'/leads/' + l.id} class="lead-link">${l.full_name}<//>
        ${l.needs_reply ? html` <span class="badge badge-paused" title="A message from this lead waits for an answer">needs reply</span>` : null}
        ${l.company ? html`<div class="sub">${l.company}</div>` : null}</td>
      <td class="hide-sm">${nameOf(refs.stages, l.stage_id, '—')}</td>
      ${compact ? null : html`<td class="hide-sm">${nameOf(refs.users, l.owner_id, '—')}</td>
      <td class="hide-md">${nameOf(refs.sources, l.source_id, '—')}</td>`}
      ${closedView ? html`<td><${StatusBadge} lead=${l} outcomes=${refs.outcomes} />
          ${l.lost_reason_id ? html`<div class="sub">${nameOf(refs.lostReasons, l.lost_reason_id)}</div>` : null}</td>
        <td class="nowrap">${l.closed_at ? html`<time datetime=${l.closed_at} title=${fmtDateTime(l.closed_at)}>${fmtDate(l.closed_at)}</time>` : '—'}</td>`
      : html`<td><${StatusBadge} lead=${l} outcomes=${refs.outcomes} /></td>
        <td><${SlaBadge} lead=${l} /></td>`}
      <td class="hide-md nowrap"><time datetime=${l.created_at} title=${fmtDateTime(l.created_at)}>${fmtDate(l.created_at)}</time></td>
    </tr>`)}</tbody>
  </table></div>`;
}
