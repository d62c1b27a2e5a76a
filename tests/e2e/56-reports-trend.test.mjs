// 56-reports-trend: GET /reports/outcomes?interval=day|week|month (the trend read from the kept
// day counters), checked point by point against a model computed here from the leads the test
// made and read back (created and closed times, outcome kinds, reasons left out of reports),
// with the owner and dimension filters, leads.view, CSV and bad input. Also the leads-list
// filters the Reports page drills down with (reached_stage, lost_from/lost_to/loss_reason) and
// the aging report's drill-down queries: the list behind each figure has as many leads as the
// figure says.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, byName, walk, FILE_TIMEOUT_MS, DAY, reportLists, leadBook } from './lib.mjs';

let w;
let lists;
const book = leadBook();   // every lead this file created
const { mk } = book;
const leadsNow = () => book.now(w.users.admin.c);
before(async () => {
  w = await startWorld();
  lists = await reportLists(w.users.admin.c);
});
after(async () => { if (w) await w.srv.stop(); });

const dayStr = (offset) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
const at = (offset, hh = '10:00:00') => `${dayStr(offset)}T${hh}Z`;
const src = (name) => byName(lists.sources, name).id;
const reason = (name) => byName(lists.reasons, name).id;
const kindOf = (key) => lists.outcomes.find((o) => o.key === key).kind;
const counted = (l) => !l.lost_reason_id || lists.reasons.find((r) => r.id === l.lost_reason_id).counts_in_reports;


// ---- the model: periods written out independently (Date's own UTC calendar) ----
const dnum = (s) => Math.floor(Date.parse(s.length === 10 ? s + 'T00:00:00Z' : s) / DAY);
const dtext = (n) => new Date(n * DAY).toISOString().slice(0, 10);
function periods(interval, from, to) {
  const out = [];
  const d1 = dnum(from), d2 = dnum(to);
  let start;
  if (interval === 'day') start = d1;
  else if (interval === 'week') { let d = d1; while (new Date(d * DAY).getUTCDay() !== 1) d--; start = d; }
  else { const x = new Date(d1 * DAY); start = Date.UTC(x.getUTCFullYear(), x.getUTCMonth(), 1) / DAY; }
  while (start <= d2) {
    let next;
    if (interval === 'day') next = start + 1;
    else if (interval === 'week') next = start + 7;
    else { const x = new Date(start * DAY); next = Date.UTC(x.getUTCFullYear(), x.getUTCMonth() + 1, 1) / DAY; }
    out.push({ s: start, e: next - 1, from: dtext(Math.max(start, d1)), to: dtext(Math.min(next - 1, d2)) });
    start = next;
  }
  return out;
}
function expectedSeries(leads, interval, from, to, visible = () => true) {
  const ps = periods(interval, from, to);
  const pts = ps.map((p) => ({ from: p.from, to: p.to, new: 0, won: 0, lost: 0, neutral: 0, value_won_cents: 0 }));
  const find = (t) => {
    const d = dnum(t);
    if (d < dnum(from) || d > dnum(to)) return null;
    const i = ps.findIndex((p) => d >= p.s && d <= p.e);
    return i < 0 ? null : pts[i];
  };
  for (const l of leads) {
    if (!visible(l) || !counted(l)) continue;
    const a = find(l.created_at);
    if (a) a.new += 1;
    if (l.status === 'closed' && l.closed_at) {
      const b = find(l.closed_at);
      if (!b) continue;
      const k = kindOf(l.outcome);
      b[k] += 1;
      if (k === 'won') b.value_won_cents += l.value_cents || 0;
    }
  }
  return pts;
}

describe('reports trend', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  const FROM = dayStr(-75);
  const TO = dayStr(0);

  it('gives a series per day, week and month equal to the model, with filters and leads.view', async () => {
    const { admin, manager, agent, agent2, other } = w.users;
    // history over the range and just outside it, closes of every kind, a reason left out
    const spec = [
      [-90, null, null, null, agent], [-74, null, null, null, agent], [-70, -60, 'won', null, agent2],
      [-66, -65, 'lost', 'Price', agent], [-50, -20, 'won', null, other], [-45, -44, 'lost', 'Spam', agent],
      [-40, -3, 'treated', null, agent2], [-38, null, null, null, manager], [-31, -30, 'abandoned', 'Timing', agent],
      [-29, -1, 'won', null, agent], [-14, -13, 'lost', null, agent2], [-8, null, null, null, other], [-2, null, null, null, agent],
      [-100, -72, 'won', null, agent],   // created before the range, closed in it
    ];
    let i = 0;
    for (const [c, cl, outcome, why, owner] of spec) {
      const body = { full_name: `T hist ${i++}`, source_id: lists.sources[i % lists.sources.length].id, owner_id: owner.id,
        created_at: at(c), value_cents: 100 * i };
      if (cl !== null) Object.assign(body, { status: 'closed', outcome, closed_at: at(cl, '15:30:00'), ...(why ? { lost_reason_id: reason(why) } : {}) });
      await mk(admin.c, body);
    }
    // changes made now: a close, a loss then a reopen (no longer counted as closed), a won today
    const a = await mk(agent.c, { full_name: 'T now won', source_id: src('Phone'), value_cents: 4200 });
    const b = await mk(agent.c, { full_name: 'T now reopened', source_id: src('Phone') });
    await mk(agent2.c, { full_name: 'T now open', source_id: src('Email') });
    expectStatus(await agent.c.post(`/api/v1/leads/${a.id}/close`, { outcome: 'won' }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/close`, { outcome: 'lost', reason_id: reason('Price') }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/reopen`, {}), 200);

    const leads = await leadsNow();
    for (const interval of ['day', 'week', 'month']) {
      const r = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?interval=${interval}&from=${FROM}&to=${TO}`), 200);
      assert.equal(r.interval, interval);
      assert.deepEqual(r.series, expectedSeries(leads, interval, FROM, TO), `interval=${interval}`);
      // the series adds up to the report's own totals for the same range
      const sum = (k) => r.series.reduce((s, p) => s + p[k], 0);
      assert.equal(sum('new'), r.totals.total, `${interval}: new leads = leads created in the range`);
      const closed = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?date=closed&from=${FROM}&to=${TO}`), 200);
      assert.equal(sum('won'), closed.totals.won);
      assert.equal(sum('lost'), closed.totals.lost);
      assert.equal(sum('value_won_cents'), closed.totals.value_won_cents);
    }
    const ids = leads.filter((l) => l.owner_id === agent.id);
    assert.ok(ids.length > 3);
    // the owner filter; a dimension's own filter with its group_by
    let r = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?interval=week&owner=${agent.id}&from=${FROM}&to=${TO}`), 200);
    assert.deepEqual(r.series, expectedSeries(leads, 'week', FROM, TO, (l) => l.owner_id === agent.id), 'owner filter');
    const phone = src('Phone');
    r = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?interval=day&group_by=source&source=${phone}&from=${FROM}&to=${TO}`), 200);
    assert.deepEqual(r.series, expectedSeries(leads, 'day', FROM, TO, (l) => l.source_id === phone), 'source filter');
    // leads.view: an agent's series is its own leads', a manager's the team's
    r = expectStatus(await agent2.c.get(`/api/v1/reports/outcomes?interval=month&from=${FROM}&to=${TO}`), 200);
    assert.deepEqual(r.series, expectedSeries(leads, 'month', FROM, TO, (l) => l.owner_id === agent2.id), 'agent sees its own');
    const team = [manager.id, agent.id, agent2.id];
    r = expectStatus(await manager.c.get(`/api/v1/reports/outcomes?interval=week&from=${FROM}&to=${TO}`), 200);
    assert.deepEqual(r.series, expectedSeries(leads, 'week', FROM, TO, (l) => team.includes(l.owner_id)), 'manager sees the team');
    // a range of one day: one point
    r = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?interval=month&from=${TO}&to=${TO}`), 200);
    assert.equal(r.series.length, 1);
    assert.deepEqual([r.series[0].from, r.series[0].to], [TO, TO]);
  });

  it('answers the series as CSV and refuses bad intervals', async () => {
    const { admin } = w.users;
    const json = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?interval=week&from=${FROM}&to=${TO}`), 200);
    const r = await admin.c.get(`/api/v1/reports/outcomes?interval=week&from=${FROM}&to=${TO}&format=csv`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/csv/);
    assert.match(r.headers['content-disposition'], /outcomes-trend\.csv/);
    const lines = r.text.trim().split('\r\n');
    assert.equal(lines[0], 'from,to,new,won,lost,neutral,value_won_cents');
    assert.deepEqual(lines.slice(1), json.series.map((p) => [p.from, p.to, p.new, p.won, p.lost, p.neutral, p.value_won_cents].join(',')));
    expectError(await admin.c.get('/api/v1/reports/outcomes?interval=year'), 422, 'validation_failed');
    const long = await admin.c.get('/api/v1/reports/outcomes?interval=day&from=2000-01-01&to=2010-01-01');
    expectError(long, 422, 'validation_failed');
    assert.ok(long.body.error.fields.interval, 'names interval');
    // ten years by month is fine
    const ok = expectStatus(await admin.c.get('/api/v1/reports/outcomes?interval=month&from=2000-01-01&to=2009-12-31'), 200);
    assert.equal(ok.series.length, 120);
  });
});

describe('drill-down filters of the flow reports', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  const count = async (c, q) => (await walk(c, `/api/v1/leads?${new URLSearchParams(q)}`, 200)).length;

  it('reached_stage lists the leads the funnel counts as reaching a stage', async () => {
    const { admin, agent } = w.users;
    const st = lists.stages.filter((s) => s.active && !s.waiting).sort((x, y) => x.position - y.position);
    const [s1, s2, s3] = st;
    const l1 = await mk(agent.c, { full_name: 'F one', stage_id: s1.id });
    const l2 = await mk(agent.c, { full_name: 'F two', stage_id: s1.id });
    await mk(agent.c, { full_name: 'F three', stage_id: s1.id });
    expectStatus(await agent.c.patch(`/api/v1/leads/${l1.id}`, { stage_id: s2.id }), 200);
    expectStatus(await agent.c.patch(`/api/v1/leads/${l1.id}`, { stage_id: s3.id }), 200);
    expectStatus(await agent.c.patch(`/api/v1/leads/${l2.id}`, { stage_id: s2.id }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${l2.id}/close`, { outcome: 'won' }), 200);
    const today = dayStr(0);
    const f = expectStatus(await admin.c.get(`/api/v1/reports/funnel?from=${today}&to=${today}`), 200);
    for (const s of [s1, s2, s3]) {
      const row = f.items.find((x) => x.stage_id === s.id);
      const n = await count(admin.c, { status: 'all', owner: 'any', reached_stage: s.id, created_from: `${today}T00:00:00Z`, created_to: `${today}T23:59:59Z` });
      assert.equal(n, row.reached, `stage ${s.name}: the list behind "reached"`);
      const now = await count(admin.c, { status: 'open', owner: 'any', stage: s.id, created_from: `${today}T00:00:00Z`, created_to: `${today}T23:59:59Z` });
      assert.equal(now, row.in_stage_now, `stage ${s.name}: the list behind "in the stage now"`);
    }
    expectError(await admin.c.get('/api/v1/leads?reached_stage=x'), 422, 'validation_failed');
  });

  it('lost_from / lost_to / loss_reason list the losses win-back counts, reopened leads included', async () => {
    const { admin, agent } = w.users;
    const x = await mk(agent.c, { full_name: 'W one', emails: ['w.one@example.com'] });
    const y = await mk(agent.c, { full_name: 'W two' });
    // history without a reason (imported): a loss with no reason
    const justNow = new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, 'Z');
    const z = await mk(admin.c, { full_name: 'W three', owner_id: agent.id, created_at: justNow, status: 'closed', outcome: 'lost', closed_at: justNow });
    expectStatus(await agent.c.post(`/api/v1/leads/${x.id}/close`, { outcome: 'lost', reason_id: reason('Timing') }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${y.id}/close`, { outcome: 'lost', reason_id: reason('Timing') }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${y.id}/reopen`, {}), 200);
    const today = dayStr(0);
    const wb = expectStatus(await admin.c.get(`/api/v1/reports/win-back?from=${today}&to=${today}`), 200);
    for (const row of wb.items) {
      const n = await count(admin.c, { status: 'all', owner: 'any', lost_from: today, lost_to: today, loss_reason: row.reason_id ?? 'none' });
      assert.equal(n, row.lost, `${row.name}: the list behind "lost"`);
    }
    const timing = wb.items.find((r) => r.reason_id === reason('Timing'));
    assert.ok(timing.lost >= 2 && timing.reopened >= 1);
    assert.ok(wb.items.some((r) => r.reason_id === null && r.lost >= 1), 'a loss without a reason');
    // the lead reopened has no lost reason now, and is found all the same
    const ids = (await walk(admin.c, `/api/v1/leads?status=all&owner=any&lost_from=${today}&loss_reason=${reason('Timing')}`)).map((l) => l.id);
    assert.ok(ids.includes(y.id) && ids.includes(x.id) && !ids.includes(z.id));
    expectError(await admin.c.get('/api/v1/leads?loss_reason=abc'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/leads?lost_from=yesterday'), 422, 'validation_failed');
  });

  it('aging: each row carries the list queries behind its figures, and they count the same', async () => {
    const { admin, manager, agent } = w.users;
    await mk(admin.c, { full_name: 'A young', owner_id: agent.id, created_at: at(-2) });
    await mk(admin.c, { full_name: 'A middle', owner_id: agent.id, created_at: at(-12) });
    await mk(admin.c, { full_name: 'A old', owner_id: agent.id, created_at: at(-45) });
    await mk(admin.c, { full_name: 'A nobody', created_at: at(-7) });
    for (const c of [admin.c, manager.c]) {
      const ag = expectStatus(await c.get('/api/v1/reports/aging?clock=calendar'), 200);
      for (const row of [...ag.items, ag.total]) {
        for (const k of ['open', 'age_ok', 'age_warning', 'age_over', 'sla_ok', 'sla_warning', 'sla_breached', 'closed']) {
          assert.ok(row.leads[k], `${row.owner_name}: ${k} has its query`);
          assert.equal(await count(c, row.leads[k]), row[k], `${row.owner_name}: the list behind ${k}`);
        }
      }
      const owners = ag.items.map((r) => r.owner_id);
      assert.ok(owners.includes(agent.id));
    }
    const ag = expectStatus(await admin.c.get('/api/v1/reports/aging'), 200);
    if (ag.clock === 'business') assert.equal(ag.total.leads.sla_ok, undefined, 'no SLA drill-down on the business clock');
  });
});
