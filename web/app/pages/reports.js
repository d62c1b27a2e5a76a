// pages/reports.js — Reports: won/lost by a dimension (stacked bars open / won / lost / other
// and the table beside them, compared with the previous period if asked) and lost reasons
// (count and share per reason, and the lost leads without one). Filters: range (from, to), which
// date counts (created, closed, sold), the dimension. A bar, a segment or a table row opens the
// leads list behind it (each row of the API's answer carries that list's query); CSV downloads
// the same report. The figures are the caller's leads.view: an agent's own, a manager's team.
// The chart component (components/chart.js) is shared with the other reports. Tabs: each report
// has its own address (/reports, /reports/aging, /reports/funnel, /reports/win-back) and keeps its
// filters in its query; the flow reports are in pages/reports-flow.js. A trend (line chart of new,
// won and lost leads per day, week or month) sits under the outcomes.
import { html, useEffect } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { navigate, useLocation, Input, Select, Check, ErrorBox, Spinner, Link } from '../ui.js';
import { BarChart, LineChart } from '../components/chart.js';
import { useLoader, money } from '../util.js';
import { AgingReport, FunnelReport, WinBackReport, useDrawn } from './reports-flow.js';

const GROUPS = [
  { value: 'source', label: 'Source' }, { value: 'owner', label: 'Owner' }, { value: 'team', label: 'Team' },
  { value: 'location', label: 'Location' }, { value: 'partner', label: 'Partner' }, { value: 'country', label: 'Country' },
  { value: 'service', label: 'Service' }, { value: 'stage', label: 'Stage' }, { value: 'lost_reason', label: 'Lost reason' },
];
const DATES = [
  { value: 'created', label: 'Created in the period' }, { value: 'closed', label: 'Closed in the period' },
  { value: 'sold', label: 'Sold in the period' },
];
const SERIES = [
  { key: 'open', label: 'Open', tone: 'blue' }, { key: 'won', label: 'Won', tone: 'green' },
  { key: 'lost', label: 'Lost', tone: 'vermillion' }, { key: 'neutral', label: 'Other outcomes', tone: 'purple' },
];
const KEYS = ['from', 'to', 'date', 'group_by', 'compare', 'interval'];
const INTERVALS = [{ value: 'day', label: 'Day' }, { value: 'week', label: 'Week' }, { value: 'month', label: 'Month' }];
export const TABS = [
  { kind: '', label: 'Won and lost' }, { kind: 'aging', label: 'Aging and SLA' },
  { kind: 'funnel', label: 'Funnel' }, { kind: 'win-back', label: 'Win-back' },
];

const dayStr = (d) => d.toISOString().slice(0, 10);
function defaults() {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86400000);
  return { from: dayStr(from), to: dayStr(to), date: 'created', group_by: 'source', compare: '', interval: 'week' };
}
function readParams(search) {
  const p = new URLSearchParams(search);
  const f = defaults();
  for (const k of KEYS) if (p.get(k) !== null) f[k] = p.get(k);
  return f;
}
function writeParams(f) {
  const p = new URLSearchParams();
  for (const k of KEYS) if (f[k]) p.set(k, f[k]);
  navigate('/reports?' + p.toString(), { replace: true });
}

// The tabs: links (each report is an address), the current one marked.
export function ReportTabs({ kind }) {
  return html`<nav aria-label="Reports"><ul class="report-tabs">
    ${TABS.map((t) => html`<li key=${t.kind}><${Link} href=${t.kind ? '/reports/' + t.kind : '/reports'}
      aria-current=${(kind || '') === t.kind ? 'page' : undefined}>${t.label}</${Link}></li>`)}
  </ul></nav>`;
}
const leadsLink = (filter, extra = {}) => '/leads?' + new URLSearchParams({ ...filter, ...extra }).toString();
const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 100)}%`);

function Delta({ now, before }) {
  if (before === undefined || before === null) return null;
  const d = now - before;
  if (!d) return html`<span class="sub">±0</span>`;
  return html`<span class=${'sub ' + (d > 0 ? 'delta-up' : 'delta-down')}>${d > 0 ? '+' : '−'}${Math.abs(d)} vs before</span>`;
}

function OutcomesTable({ report, compare }) {
  const go = (f, extra) => (e) => { e.preventDefault(); navigate(leadsLink(f, extra)); };
  const cell = (row, k) => html`<td class="num">${row[k] ? html`<a href=${leadsLink(row.leads, { outcome_kind: k })} onClick=${go(row.leads, { outcome_kind: k })}
    aria-label=${`${row[k]} ${k} — ${row.label}: show the leads`}>${row[k]}</a>` : '0'}</td>`;
  const t = report.totals;
  return html`<div class="table-wrap"><table class="report-table">
    <caption class="sr-only">Outcomes by ${report.group_by}, ${report.range.from} to ${report.range.to}</caption>
    <thead><tr><th scope="col">${GROUPS.find((g) => g.value === report.group_by)?.label || report.group_by}</th>
      <th scope="col" class="num">Open</th><th scope="col" class="num">Won</th><th scope="col" class="num">Lost</th>
      <th scope="col" class="num">Other</th><th scope="col" class="num">Win rate</th><th scope="col" class="num">Value won</th></tr></thead>
    <tbody>${report.items.map((r) => html`<tr key=${r.key}>
      <th scope="row"><a href=${leadsLink(r.leads)} onClick=${go(r.leads)}>${r.label}</a>
        ${compare && r.previous ? html`<${Delta} now=${r.total} before=${r.previous.total} />` : null}</th>
      ${cell(r, 'open')}${cell(r, 'won')}${cell(r, 'lost')}${cell(r, 'neutral')}
      <td class="num">${pct(r.win_rate)}${compare && r.previous ? html`<span class="sub">before ${pct(r.previous.win_rate)}</span>` : null}</td>
      <td class="num">${money(r.value_won_cents)}</td></tr>`)}</tbody>
    <tfoot><tr><td>Total${compare && t.previous ? html` <${Delta} now=${t.total} before=${t.previous.total} />` : null}</td>
      <td class="num">${t.open}</td><td class="num">${t.won}</td><td class="num">${t.lost}</td><td class="num">${t.neutral}</td>
      <td class="num">${pct(t.win_rate)}</td><td class="num">${money(t.value_won_cents)}</td></tr></tfoot>
  </table></div>`;
}

// The trend: new leads (created), won and lost (closed) per period, from ?interval= on outcomes.
const TREND = [
  { key: 'new', label: 'New leads', tone: 'blue' }, { key: 'won', label: 'Won', tone: 'green' },
  { key: 'lost', label: 'Lost', tone: 'vermillion' },
];
const utcDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const utcMonth = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });
const dayOf = (s) => new Date(s + 'T00:00:00Z');
function periodLabel(p, interval) {
  if (interval === 'month') return utcMonth.format(dayOf(p.from));
  if (interval === 'week') return `Week ${utcDay.format(dayOf(p.from))} – ${utcDay.format(dayOf(p.to))}`;
  return utcDay.format(dayOf(p.from));
}
function trendLeads(p, series) {
  const base = { owner: 'any', in_reports: '1' };
  if (!series || series === 'new') return { ...base, status: 'all', created_from: p.from + 'T00:00:00Z', created_to: p.to + 'T23:59:59Z' };
  return { ...base, status: 'closed', outcome_kind: series, closed_from: p.from + 'T00:00:00Z', closed_to: p.to + 'T23:59:59Z' };
}

function TrendReport({ params }) {
  const interval = params.interval || 'week';
  const q = { from: params.from, to: params.to, interval };
  const [state] = useLoader(() => api.reports.outcomes(q), [params.from, params.to, interval]);
  const r = state.data;
  const points = r && r.series ? r.series.map((p) => ({ key: p.from, label: periodLabel(p, interval),
    short: interval === 'month' ? utcMonth.format(dayOf(p.from)) : utcDay.format(dayOf(p.from)), values: p, period: p })) : [];
  const go = (p, series) => navigate('/leads?' + new URLSearchParams(trendLeads(p.period || p, series)).toString());
  const click = (p, series) => (e) => { e.preventDefault(); go(p, series); };
  const href = (p, series) => '/leads?' + new URLSearchParams(trendLeads(p, series)).toString();
  useDrawn('trend', r);
  return html`<section class="card report-trend" aria-labelledby="trend-h">
    <div class="card-head"><h2 id="trend-h">Trend: new, won and lost leads by ${interval}</h2>
      <a class="btn btn-small" href=${api.reports.csvUrl('outcomes', q)} download="outcomes-trend.csv">Download CSV</a></div>
    <p class="hint">New leads by the day they came in; won and lost by the day they were closed (and are still closed).</p>
    <${ErrorBox} error=${state.error} />
    ${!r && state.loading ? html`<${Spinner} />` : null}
    ${r ? html`<div class=${'report-grid' + (state.loading ? ' dim' : '')}>
      <${LineChart} title=${`New, won and lost leads by ${interval}`} points=${points} series=${TREND} onSelect=${go} />
      <div class="table-wrap report-scroll"><table class="report-table">
        <caption class="sr-only">New, won and lost leads by ${interval}, ${r.range.from} to ${r.range.to}</caption>
        <thead><tr><th scope="col">${INTERVALS.find((i) => i.value === interval)?.label || 'Period'}</th><th scope="col" class="num">New</th>
          <th scope="col" class="num">Won</th><th scope="col" class="num">Lost</th></tr></thead>
        <tbody>${r.series.map((p) => html`<tr key=${p.from}><th scope="row">${periodLabel(p, interval)}</th>
          ${['new', 'won', 'lost'].map((k) => html`<td class="num" key=${k}>${p[k] ? html`<a href=${href(p, k)} onClick=${click(p, k)}
            aria-label=${`${p[k]} ${k} — ${periodLabel(p, interval)}: show the leads`}>${p[k]}</a>` : '0'}</td>`)}</tr>`)}</tbody>
      </table></div>
    </div>` : null}
  </section>`;
}

function OutcomesReport({ params }) {
  const q = { from: params.from, to: params.to, date: params.date, group_by: params.group_by, compare: params.compare || undefined };
  const [state] = useLoader(() => api.reports.outcomes(q), [params.from, params.to, params.date, params.group_by, params.compare]);
  const r = state.data;
  useDrawn('outcomes', r);
  const rows = r ? r.items.map((it) => ({ key: it.key, label: it.label, values: it, leads: it.leads })) : [];
  const select = (row, series) => navigate(leadsLink(row.leads, series ? { outcome_kind: series } : {}));
  const label = GROUPS.find((g) => g.value === params.group_by)?.label || params.group_by;
  return html`<section class="card" aria-labelledby="outcomes-h">
    <div class="card-head"><h2 id="outcomes-h">Won and lost by ${label.toLowerCase()}</h2>
      <a class="btn btn-small" href=${api.reports.csvUrl('outcomes', q)} download="outcomes.csv">Download CSV</a></div>
    <${ErrorBox} error=${state.error} />
    ${!r && state.loading ? html`<${Spinner} />` : null}
    ${r ? html`<div class=${'report-grid' + (state.loading ? ' dim' : '')}>
      <${BarChart} title=${`Leads by ${label.toLowerCase()}: open, won, lost and other outcomes`} rows=${rows} series=${SERIES} onSelect=${select} />
      <${OutcomesTable} report=${r} compare=${!!params.compare} />
    </div>` : null}
  </section>`;
}

function LostReasonsReport({ params }) {
  const q = { from: params.from, to: params.to };
  const [state] = useLoader(() => api.reports.lostReasons(q), [params.from, params.to]);
  const r = state.data;
  useDrawn('lost-reasons', r);
  const rows = r ? r.items.map((it) => ({ key: String(it.reason_id), label: it.name, values: { count: it.count }, leads: it.leads })) : [];
  const go = (f) => (e) => { e.preventDefault(); navigate(leadsLink(f)); };
  return html`<section class="card" aria-labelledby="lost-h">
    <div class="card-head"><h2 id="lost-h">Why leads were lost</h2>
      <a class="btn btn-small" href=${api.reports.csvUrl('lost-reasons', q)} download="lost-reasons.csv">Download CSV</a></div>
    <p class="hint">Leads closed as lost in the period, by reason. Reasons marked “not counted in reports” (such as Spam) are left out.</p>
    <${ErrorBox} error=${state.error} />
    ${!r && state.loading ? html`<${Spinner} />` : null}
    ${r ? html`<div class=${'report-grid' + (state.loading ? ' dim' : '')}>
      <${BarChart} title="Lost leads by reason" rows=${rows} series=${[{ key: 'count', label: 'Lost', tone: 'vermillion' }]}
        onSelect=${(row) => navigate(leadsLink(row.leads))} empty="No leads were lost in this period." />
      <div class="table-wrap"><table class="report-table">
        <caption class="sr-only">Lost reasons, ${r.range.from} to ${r.range.to}</caption>
        <thead><tr><th scope="col">Reason</th><th scope="col" class="num">Leads</th><th scope="col" class="num">Share</th></tr></thead>
        <tbody>${r.items.map((it) => html`<tr key=${it.reason_id}>
          <th scope="row"><a href=${leadsLink(it.leads)} onClick=${go(it.leads)}>${it.name}</a></th>
          <td class="num">${it.count}</td><td class="num">${pct(it.share)}</td></tr>`)}
          <tr><th scope="row">${r.no_reason ? html`<a href=${leadsLink(r.no_reason_leads)} onClick=${go(r.no_reason_leads)}>No reason given</a>` : 'No reason given'}</th>
            <td class="num">${r.no_reason}</td><td class="num">${pct(r.lost ? r.no_reason / r.lost : null)}</td></tr></tbody>
        <tfoot><tr><td>All lost</td><td class="num">${r.lost}</td><td class="num">${r.lost ? '100%' : '—'}</td></tr></tfoot>
      </table></div>
    </div>` : null}
  </section>`;
}

export function ReportsPage({ kind = '' }) {
  const loc = useLocation();
  if (kind === 'aging') return html`<div class="page reports-page"><div class="page-head"><h1>Reports</h1></div>
    <${ReportTabs} kind=${kind} /><${AgingReport} search=${loc.search} /></div>`;
  if (kind === 'funnel') return html`<div class="page reports-page"><div class="page-head"><h1>Reports</h1></div>
    <${ReportTabs} kind=${kind} /><${FunnelReport} search=${loc.search} /></div>`;
  if (kind === 'win-back') return html`<div class="page reports-page"><div class="page-head"><h1>Reports</h1></div>
    <${ReportTabs} kind=${kind} /><${WinBackReport} search=${loc.search} /></div>`;
  const params = readParams(loc.search);
  const f = params;
  const set = (k) => (v) => writeParams({ ...f, [k]: v });
  return html`<div class="page reports-page">
    <div class="page-head"><h1>Reports</h1></div>
    <${ReportTabs} kind="" />
    <form class="card filters" aria-label="Report filters" onSubmit=${(e) => e.preventDefault()}>
      <div class="filters-main">
        <${Input} type="date" label="From" value=${f.from} onInput=${set('from')} />
        <${Input} type="date" label="To" value=${f.to} onInput=${set('to')} />
        <${Select} label="Count leads" value=${f.date} options=${DATES} onChange=${set('date')} />
        <${Select} label="Group by" value=${f.group_by} options=${GROUPS} onChange=${set('group_by')} />
        <${Select} label="Trend by" value=${f.interval} options=${INTERVALS} onChange=${set('interval')} />
        <${Check} label="Compare with the period before" checked=${!!f.compare} onChange=${(v) => set('compare')(v ? 'previous' : '')} />
      </div>
    </form>
    <${OutcomesReport} params=${params} />
    <${TrendReport} params=${params} />
    <${LostReasonsReport} params=${params} />
  </div>`;
}
