// pages/reports-flow.js — the flow reports of the Reports page, one tab (and address) each:
//   Aging and SLA (/reports/aging): open leads by age bucket per owner (stacked bars), the SLA
//     state on the settings' clock (calendar or business hours, switchable), leads closed in the
//     range, median days to close and the share closed within the target;
//   Funnel (/reports/funnel): leads that reached each stage, conversion to the next, median days;
//   Win-back (/reports/win-back): per lost reason, lost / came back / won later.
// Each: filters (range, owner, source) in its query, the chart and the table beside it, a
// drill-down from a bar (or a number) into the leads list behind it, CSV download. The aging
// rows carry their list queries from the server (its bucket limits come from its own clock); the
// funnel and win-back ones are built here from the list's filters (reached_stage, lost_from,
// lost_to, loss_reason). Each section marks `reports:drawn:<name>` (performance) when drawn.
import { html, useEffect } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { navigate, Input, Select, ErrorBox, Spinner, useApp, useCan, peopleOf, optionsOf } from '../ui.js';
import { BarChart, FunnelChart } from '../components/chart.js';
import { useLoader } from '../util.js';

const dayStr = (d) => d.toISOString().slice(0, 10);
const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 100)}%`);
const days = (v) => (v === null || v === undefined ? '—' : `${v} d`);
const leadsHref = (q) => '/leads?' + new URLSearchParams(q).toString();
const goto = (q) => (e) => { if (e) e.preventDefault(); navigate(leadsHref(q)); };

// Marks when a section has drawn its chart with data (the browser test measures from these).
export function useDrawn(name, data) {
  useEffect(() => {
    if (data && typeof performance !== 'undefined' && performance.mark) performance.mark('reports:drawn:' + name);
  }, [data]);
}

// ---- filters kept in the address: from, to (days), owner, source, and the report's own keys
function readQ(search, extra = []) {
  const p = new URLSearchParams(search);
  const to = new Date();
  const f = { from: dayStr(new Date(to.getTime() - 89 * 86400000)), to: dayStr(to), owner: '', source: '' };
  for (const k of ['from', 'to', 'owner', 'source', ...extra]) if (p.get(k) !== null) f[k] = p.get(k);
  return f;
}
function writeQ(path, f) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  navigate(path + '?' + p.toString(), { replace: true });
}
const apiQ = (f) => ({ from: f.from, to: f.to, owner: f.owner || undefined, source: f.source || undefined });
// what every drill-down shares: the owner (any the caller may see, or the one chosen) and source
const baseLeads = (f) => ({ owner: f.owner || 'any', ...(f.source ? { source: f.source } : {}) });

function FlowFilters({ f, set, children }) {
  const { refs } = useApp();
  const can = useCan();
  const people = peopleOf(refs.users, can);
  return html`<form class="card filters" aria-label="Report filters" onSubmit=${(e) => e.preventDefault()}>
    <div class="filters-main">
      <${Input} type="date" label="From" value=${f.from} onInput=${set('from')} />
      <${Input} type="date" label="To" value=${f.to} onInput=${set('to')} />
      ${people.length > 1 ? html`<${Select} label="Owner" value=${f.owner} empty=${can.view === 'all' ? 'Anyone' : 'Anyone I may see'}
        options=${optionsOf(people)} onChange=${set('owner')} />` : null}
      <${Select} label="Source" value=${f.source} empty="Any" options=${optionsOf(refs.sources)} onChange=${set('source')} />
      ${children}
    </div>
  </form>`;
}

function Head({ id, title, csv, file }) {
  return html`<div class="card-head"><h2 id=${id}>${title}</h2>
    <a class="btn btn-small" href=${csv} download=${file}>Download CSV</a></div>`;
}

// ---- aging and the SLA
const AGE_SERIES = [
  { key: 'age_ok', tone: 'green' }, { key: 'age_warning', tone: 'orange' }, { key: 'age_over', tone: 'vermillion' },
];
const SLA_COLS = [{ key: 'sla_ok', label: 'On time' }, { key: 'sla_warning', label: 'Warning' }, { key: 'sla_breached', label: 'Breached' }];

export function AgingReport({ search }) {
  const f = readQ(search, ['clock']);
  const set = (k) => (v) => writeQ('/reports/aging', { ...f, [k]: v });
  const q = { ...apiQ(f), clock: f.clock || undefined };
  const [state] = useLoader(() => api.reports.aging(q), [f.from, f.to, f.owner, f.source, f.clock]);
  const r = state.data;
  useDrawn('aging', r);
  const series = r ? AGE_SERIES.map((s, i) => ({ ...s, label: `Open ${r.buckets[i].label}` })) : [];
  const rows = r ? r.items.map((it) => ({ key: String(it.owner_id ?? 'none'), label: it.owner_name || '(no owner)', values: it, leads: it.leads })) : [];
  const num = (row, k, label) => (row[k] && row.leads[k]
    ? html`<a href=${leadsHref(row.leads[k])} onClick=${goto(row.leads[k])} aria-label=${`${row[k]} ${label} — ${row.owner_name || '(no owner)'}: show the leads`}>${row[k]}</a>`
    : String(row[k]));
  const line = (row, isTotal) => html`<tr key=${row.owner_id ?? 'none'}>
    ${isTotal ? html`<td>Total</td>` : html`<th scope="row">${row.owner_name || '(no owner)'}</th>`}
    <td class="num">${num(row, 'open', 'open')}</td>
    ${AGE_SERIES.map((s, i) => html`<td class="num" key=${s.key}>${num(row, s.key, `open ${r.buckets[i].label}`)}</td>`)}
    ${SLA_COLS.map((s) => html`<td class="num" key=${s.key}>${num(row, s.key, s.label.toLowerCase())}</td>`)}
    <td class="num">${num(row, 'closed', 'closed')}</td>
    <td class="num">${days(row.median_days_to_close)}</td>
    <td class="num">${pct(row.share_closed_within_target)}</td></tr>`;
  return html`
    <${FlowFilters} f=${f} set=${set}>
      <${Select} label="SLA clock" value=${f.clock} empty="As in the settings"
        options=${[{ value: 'calendar', label: 'Calendar days' }, { value: 'business', label: 'Business hours' }]} onChange=${set('clock')} />
    </${FlowFilters}>
    <section class="card" aria-labelledby="aging-h">
      <${Head} id="aging-h" title="Open leads by age, per owner" csv=${api.reports.csvUrl('aging', q)} file="aging.csv" />
      ${r ? html`<p class="hint">Ages are calendar days open. The SLA columns count on the ${r.clock === 'business' ? 'business-hours' : 'calendar'} clock
        (warning after ${r.warn_days} days, breached after ${r.breach_days}; time in a waiting stage does not count).
        Closing figures: leads closed from ${f.from} to ${f.to}; “within target” means closed before the warning target.</p>` : null}
      <${ErrorBox} error=${state.error} />
      ${!r && state.loading ? html`<${Spinner} />` : null}
      ${r ? html`<div class=${'report-grid' + (state.loading ? ' dim' : '')}>
        <${BarChart} title="Open leads by age bucket, per owner" rows=${rows} series=${series}
          onSelect=${(row, s) => navigate(leadsHref(row.leads[s || 'open']))} empty="No open leads." />
        <div class="table-wrap"><table class="report-table">
          <caption class="sr-only">Aging and SLA per owner</caption>
          <thead><tr><th scope="col">Owner</th><th scope="col" class="num">Open</th>
            ${r.buckets.map((b) => html`<th scope="col" class="num" key=${b.key}>${b.label}</th>`)}
            ${SLA_COLS.map((s) => html`<th scope="col" class="num" key=${s.key}>SLA ${s.label.toLowerCase()}</th>`)}
            <th scope="col" class="num">Closed</th><th scope="col" class="num">Median days to close</th>
            <th scope="col" class="num">Closed within target</th></tr></thead>
          <tbody>${r.items.map((row) => line(row, false))}</tbody>
          <tfoot>${line(r.total, true)}</tfoot>
        </table></div>
      </div>` : null}
    </section>`;
}

// ---- the funnel
export function FunnelReport({ search }) {
  const f = readQ(search);
  const set = (k) => (v) => writeQ('/reports/funnel', { ...f, [k]: v });
  const q = apiQ(f);
  const [state] = useLoader(() => api.reports.funnel(q), [f.from, f.to, f.owner, f.source]);
  const r = state.data;
  useDrawn('funnel', r);
  const cohort = { ...baseLeads(f), created_from: f.from + 'T00:00:00Z', created_to: f.to + 'T23:59:59Z' };
  const reached = (it) => ({ ...cohort, status: 'all', reached_stage: String(it.stage_id) });
  const inNow = (it) => ({ ...cohort, status: 'open', stage: String(it.stage_id) });
  const rows = r ? r.items.map((it) => ({ key: String(it.stage_id), label: it.name + (it.waiting ? ' (waiting)' : ''), value: it.reached,
    next: it.conversion_to_next, tone: it.waiting ? 'sky' : 'blue', it })) : [];
  const describe = (row) => `${row.label}: ${row.it.reached} reached, ${pct(row.it.conversion_to_next)} went on to the next step, `
    + `median ${days(row.it.median_days)} in the stage`;
  return html`
    <${FlowFilters} f=${f} set=${set} />
    <section class="card" aria-labelledby="funnel-h">
      <${Head} id="funnel-h" title="Stage funnel" csv=${api.reports.csvUrl('funnel', q)} file="funnel.csv" />
      ${r ? html`<p class="hint">Of the ${r.leads} leads created from ${f.from} to ${f.to} (${r.won} won): how many reached each stage, and the share that
        reached the next step (the next stage that is not a waiting one, or won after the last).</p>` : null}
      <${ErrorBox} error=${state.error} />
      ${!r && state.loading ? html`<${Spinner} />` : null}
      ${r ? html`<div class=${'report-grid' + (state.loading ? ' dim' : '')}>
        <${FunnelChart} title="Leads that reached each stage" rows=${rows} describe=${describe}
          onSelect=${(row) => navigate(leadsHref(reached(row.it)))} empty="No leads were created in this period." />
        <div class="table-wrap"><table class="report-table">
          <caption class="sr-only">Stage funnel, leads created ${f.from} to ${f.to}</caption>
          <thead><tr><th scope="col">Stage</th><th scope="col" class="num">Reached</th><th scope="col" class="num">To the next</th>
            <th scope="col" class="num">Moved on</th><th scope="col" class="num">In it now</th><th scope="col" class="num">Median days in it</th></tr></thead>
          <tbody>${r.items.map((it) => html`<tr key=${it.stage_id}>
            <th scope="row">${it.name}${it.waiting ? html` <span class="sub">(waiting)</span>` : null}</th>
            <td class="num">${it.reached ? html`<a href=${leadsHref(reached(it))} onClick=${goto(reached(it))}
              aria-label=${`${it.reached} reached ${it.name}: show the leads`}>${it.reached}</a>` : '0'}</td>
            <td class="num">${pct(it.conversion_to_next)}</td><td class="num">${it.moved_on}</td>
            <td class="num">${it.in_stage_now ? html`<a href=${leadsHref(inNow(it))} onClick=${goto(inNow(it))}
              aria-label=${`${it.in_stage_now} in ${it.name} now: show the leads`}>${it.in_stage_now}</a>` : '0'}</td>
            <td class="num">${days(it.median_days)}</td></tr>`)}</tbody>
          <tfoot><tr><td>Leads / won</td><td class="num">${r.leads}</td><td class="num">${pct(r.leads ? r.won / r.leads : null)}</td>
            <td class="num">${r.won}</td><td></td><td></td></tr></tfoot>
        </table></div>
      </div>` : null}
    </section>`;
}

// ---- win-back: stacked so that a bar is the lost leads: won later, came back (not won), not back
const WB_SERIES = [
  { key: 'won_later', label: 'Came back and won', tone: 'green' }, { key: 'back_only', label: 'Came back, not won (yet)', tone: 'sky' },
  { key: 'gone', label: 'Did not come back', tone: 'gray' },
];
export function WinBackReport({ search }) {
  const f = readQ(search);
  const set = (k) => (v) => writeQ('/reports/win-back', { ...f, [k]: v });
  const q = apiQ(f);
  const [state] = useLoader(() => api.reports.winBack(q), [f.from, f.to, f.owner, f.source]);
  const r = state.data;
  useDrawn('win-back', r);
  const lostLeads = (it) => ({ ...baseLeads(f), status: 'all', lost_from: f.from, lost_to: f.to, loss_reason: it.reason_id === null ? 'none' : String(it.reason_id) });
  const rows = r ? r.items.map((it) => ({ key: String(it.reason_id ?? 'none'), label: it.name, it,
    values: { won_later: it.won_later, back_only: Math.max(0, it.came_back - it.won_later), gone: it.lost - it.came_back } })) : [];
  return html`
    <${FlowFilters} f=${f} set=${set} />
    <section class="card" aria-labelledby="winback-h">
      <${Head} id="winback-h" title="Lost leads that came back" csv=${api.reports.csvUrl('win-back', q)} file="win-back.csv" />
      <p class="hint">Each time a lead was closed as lost from ${f.from} to ${f.to}, by reason: whether it came back (reopened, or a new
        lead with the same e-mail or phone) and was won later — which “lost” is really “not yet”. A bar opens the lost leads of its reason.</p>
      <${ErrorBox} error=${state.error} />
      ${!r && state.loading ? html`<${Spinner} />` : null}
      ${r ? html`<div class=${'report-grid' + (state.loading ? ' dim' : '')}>
        <${BarChart} title="Lost leads by reason: came back and won, came back, did not come back" rows=${rows} series=${WB_SERIES}
          onSelect=${(row) => navigate(leadsHref(lostLeads(row.it)))} empty="No leads were lost in this period." />
        <div class="table-wrap"><table class="report-table">
          <caption class="sr-only">Win-back by lost reason, ${f.from} to ${f.to}</caption>
          <thead><tr><th scope="col">Reason</th><th scope="col" class="num">Lost</th><th scope="col" class="num">Came back</th>
            <th scope="col" class="num">Won later</th><th scope="col" class="num">Came back %</th><th scope="col" class="num">Won later %</th></tr></thead>
          <tbody>${r.items.map((it) => html`<tr key=${it.reason_id ?? 'none'}>
            <th scope="row"><a href=${leadsHref(lostLeads(it))} onClick=${goto(lostLeads(it))}>${it.name}</a></th>
            <td class="num">${it.lost}</td><td class="num">${it.came_back}</td><td class="num">${it.won_later}</td>
            <td class="num">${pct(it.came_back_share)}</td><td class="num">${pct(it.won_later_share)}</td></tr>`)}</tbody>
          <tfoot><tr><td>All lost</td><td class="num">${r.total.lost}</td><td class="num">${r.total.came_back}</td>
            <td class="num">${r.total.won_later}</td><td class="num">${pct(r.total.came_back_share)}</td><td class="num">${pct(r.total.won_later_share)}</td></tr></tfoot>
        </table></div>
      </div>` : null}
    </section>`;
}
