// 51-reports-flow: GET /reports/aging, /reports/funnel, /reports/win-back. Every figure is checked
// against a model computed here from what the test did (the leads' created and closed times, the
// stage moves, the losses), with the SLA's business time counted independently (hour by hour in
// the business hours' time zone, via Intl). Time moves on by restarting the server on the same
// database with LEADPATH_TIME_OFFSET, so stays in stages last whole days.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startWorld, startServer, login, client, expectStatus, expectError, items, byName, u, FILE_TIMEOUT_MS } from './lib.mjs';

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;
let w;
const extra = [];
after(async () => {
  for (const s of extra) await s.stop().catch(() => {});
  if (w) { await w.srv.stop().catch(() => {}); rmSync(w.srv.dir, { recursive: true, force: true }); }
});

// ---- the independent model of the SLA clock -----------------------------------------------
// Business milliseconds in [from, to): walks the span in steps that never cross an hour boundary
// and asks Intl for the local weekday, date and hour of each step.
function bizMs(bh, from, to) {
  if (!bh) return Math.max(0, to - from);
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: bh.time_zone || 'UTC', weekday: 'short', year: 'numeric',
    month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const wd = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
  const [sh, sm] = bh.start.split(':').map(Number);
  const [eh, em] = bh.end.split(':').map(Number);
  let sum = 0;
  for (let t = from; t < to;) {
    const next = Math.min(to, (Math.floor(t / (15 * 60_000)) + 1) * 15 * 60_000);  // quarter hours: whole-minute hours work
    const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    const date = `${p.year}-${p.month}-${p.day}`;
    const mins = Number(p.hour) * 60 + Number(p.minute);
    if (bh.days.includes(wd[p.weekday]) && !(bh.holidays || []).includes(date) && mins >= sh * 60 + sm && mins < eh * 60 + em) sum += next - t;
    t = next;
  }
  return sum;
}
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return Math.round(m * 10) / 10;
};

describe('flow reports', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  it('aging: open leads by age, SLA by business time with waiting paused, closing figures, per owner, by visibility, CSV', async () => {
    w = await startWorld({ keepDir: true });
    const { admin, manager, agent, agent2, other } = w.users;
    const stages = items(await admin.c.get('/api/v1/stages'));
    const waiting = stages.find((s) => s.waiting);
    const reasons = items(await admin.c.get('/api/v1/lost-reasons'));
    const spam = byName(reasons, 'Spam').id;
    const now = Date.now();
    // A working week that started on a Monday 09:00 UTC many weeks ago would make every age
    // exact; real ages are fine too, as the model counts the same span.
    const open = [
      { owner: agent, age: 2.5 * DAY }, { owner: agent, age: 10.3 * DAY }, { owner: agent, age: 45.2 * DAY },
      { owner: agent, age: 6.6 * DAY }, { owner: agent2, age: 31.7 * DAY }, { owner: agent2, age: 0.2 * DAY },
      { owner: other, age: 12.1 * DAY },
      // in the waiting stage since it came in: the SLA clock has not run at all
      { owner: agent, age: 40.4 * DAY, stage: waiting.id },
      { owner: agent2, age: 8.9 * DAY, stage: waiting.id },
    ];
    for (const l of open) {
      l.created = now - l.age;
      const body = { full_name: u('Open '), owner_id: l.owner.id, created_at: iso(l.created) };
      if (l.stage) body.stage_id = l.stage;
      l.lead = expectStatus(await admin.c.post('/api/v1/leads', body), 201);
      l.created = Date.parse(l.lead.created_at);
    }
    // waited since it came in, then moved on just now: the waiting time is behind it
    const movedOn = open[7];
    expectStatus(await admin.c.patch(`/api/v1/leads/${movedOn.lead.id}`, { stage_id: stages[1].id }), 200);
    movedOn.waitedUntil = Date.now();
    // closed history: days to close, within the 5-day target or not
    const closed = [
      { owner: agent, created: now - 20 * DAY, closed: now - 19 * DAY, outcome: 'won' },
      { owner: agent, created: now - 30 * DAY, closed: now - 22.5 * DAY, outcome: 'lost' },
      { owner: agent, created: now - 12 * DAY, closed: now - 8.75 * DAY, outcome: 'won' },
      { owner: agent2, created: now - 60 * DAY, closed: now - 3 * DAY, outcome: 'treated' },
      { owner: agent2, created: now - 4 * DAY, closed: now - 3.9 * DAY, outcome: 'lost', reason: spam },  // not counted
      { owner: other, created: now - 9 * DAY, closed: now - 2 * DAY, outcome: 'won' },
      { owner: agent, created: now - 200 * DAY, closed: now - 120 * DAY, outcome: 'won' },  // outside the range
    ];
    for (const c of closed) {
      const body = { full_name: u('Closed '), owner_id: c.owner.id, created_at: iso(c.created), status: 'closed', outcome: c.outcome, closed_at: iso(c.closed) };
      if (c.reason) body.lost_reason_id = c.reason;
      c.lead = expectStatus(await admin.c.post('/api/v1/leads', body), 201);
    }
    const settings = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    const bh = settings.business_hours;
    const warn = settings.sla_warning_days, breach = settings.sla_breach_days;
    const from = now - 90 * DAY;

    function model(viewer, clock) {
      const h = clock === 'business' ? bh : null;
      const unit = h ? ((Number(h.end.slice(0, 2)) * 60 + Number(h.end.slice(3))) - (Number(h.start.slice(0, 2)) * 60 + Number(h.start.slice(3)))) * 60_000 : DAY;
      const tw = warn * unit, tb = breach * unit;
      const at = Date.now();
      const rows = {};
      const row = (o) => rows[o.id] ||= { owner_id: o.id, open: 0, age_ok: 0, age_warning: 0, age_over: 0, sla_ok: 0, sla_warning: 0, sla_breached: 0, closed: 0, days: [], within: 0 };
      for (const l of open) {
        if (!viewer.includes(l.owner)) continue;
        const r = row(l.owner);
        r.open++;
        const days = Math.floor((at - l.created) / DAY);
        if (days <= warn) r.age_ok++; else if (days <= breach) r.age_warning++; else r.age_over++;
        let el = bizMs(h, l.created, at);
        if (l.stage && !l.waitedUntil) el = 0;
        if (l.waitedUntil) el -= bizMs(h, l.created, l.waitedUntil);
        if (el >= tb) r.sla_breached++; else if (el >= tw) r.sla_warning++; else r.sla_ok++;
      }
      for (const c of closed) {
        if (!viewer.includes(c.owner) || c.reason === spam || c.closed < from) continue;
        const r = row(c.owner);
        r.closed++;
        r.days.push((c.closed - c.created) / DAY);
        if (bizMs(h, c.created, c.closed) < tw) r.within++;
      }
      return rows;
    }
    function check(body, viewer, clock, what) {
      assert.equal(body.clock, clock, what);
      const m = model(viewer, clock);
      const got = Object.fromEntries(body.items.map((r) => [r.owner_id, r]));
      assert.deepEqual(Object.keys(got).sort(), Object.keys(m).sort(), `${what}: the owners`);
      for (const [id, e] of Object.entries(m)) {
        const g = got[id];
        for (const k of ['open', 'age_ok', 'age_warning', 'age_over', 'sla_ok', 'sla_warning', 'sla_breached', 'closed'])
          assert.equal(g[k], e[k], `${what}: owner ${id} ${k}`);
        assert.equal(g.closed_within_target, e.within, `${what}: owner ${id} closed within target`);
        assert.equal(g.median_days_to_close, median(e.days), `${what}: owner ${id} median`);
        assert.equal(g.share_closed_within_target, e.closed ? Math.round(e.within / e.closed * 10000) / 10000 : null);
      }
      const sum = (k) => Object.values(m).reduce((a, r) => a + r[k], 0);
      assert.equal(body.total.open, sum('open'), `${what}: total open`);
      assert.equal(body.total.sla_breached, sum('sla_breached'), `${what}: total breached`);
      assert.equal(body.total.median_days_to_close, median(Object.values(m).flatMap((r) => r.days)), `${what}: total median`);
    }

    const all = [agent, agent2, other, manager, admin];
    const biz = expectStatus(await admin.c.get('/api/v1/reports/aging'), 200);
    assert.deepEqual(biz.buckets.map((b) => b.label), [`0-${warn} days`, `${warn + 1}-${breach} days`, `over ${breach} days`]);
    check(biz, all, 'business', 'admin, business hours');
    check(expectStatus(await admin.c.get('/api/v1/reports/aging?clock=calendar'), 200), all, 'calendar', 'admin, calendar');
    // the two clocks really differ here: business time runs slower than the calendar
    const cal = expectStatus(await admin.c.get('/api/v1/reports/aging?clock=calendar'), 200);
    assert.ok(cal.total.sla_ok < biz.total.sla_ok, 'fewer leads are late on business time');
    // leads.view: an agent sees its own row, a manager its team's
    check(expectStatus(await agent.c.get('/api/v1/reports/aging'), 200), [agent], 'business', 'agent');
    check(expectStatus(await manager.c.get('/api/v1/reports/aging'), 200), [agent, agent2, manager], 'business', 'manager');
    check(expectStatus(await admin.c.get(`/api/v1/reports/aging?owner=${agent2.id}`), 200), [agent2], 'business', 'owner filter');

    // business hours in another zone with holidays; the model follows
    bh.time_zone = 'America/New_York';
    bh.holidays = [iso(now - 3 * DAY).slice(0, 10), iso(now - 10 * DAY).slice(0, 10)];
    expectStatus(await admin.c.patch('/api/v1/settings', { business_hours: bh }), 200);
    check(expectStatus(await admin.c.get('/api/v1/reports/aging'), 200), all, 'business', 'New York with holidays');

    // CSV: the same figures, a header, a line per owner and the total
    const csv = await admin.c.get('/api/v1/reports/aging?format=csv');
    assert.equal(csv.status, 200);
    assert.match(csv.headers['content-type'], /^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0], 'owner_id,owner_name,open,age_ok,age_warning,age_over,sla_ok,sla_warning,sla_breached,closed,median_days_to_close,closed_within_target,share_closed_within_target');
    const json = expectStatus(await admin.c.get('/api/v1/reports/aging'), 200);
    assert.equal(lines.length, json.items.length + 2);
    const agentLine = lines.find((l) => l.startsWith(`${agent.id},`)).split(',');
    const agentRow = json.items.find((r) => r.owner_id === agent.id);
    assert.equal(Number(agentLine[2]), agentRow.open);
    assert.equal(Number(agentLine[8]), agentRow.sla_breached);
    assert.ok(lines.at(-1).startsWith('total,'));

    // bad input changes nothing and says what is wrong
    expectError(await admin.c.get('/api/v1/reports/aging?clock=lunar'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/reports/aging?from=yesterday'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/reports/aging?format=xml'), 422, 'validation_failed');
    expectStatus(await admin.c.patch('/api/v1/settings', { business_hours: { days: [], start: '09:00', end: '17:00', time_zone: 'UTC' } }), 200);
    expectError(await admin.c.get('/api/v1/reports/aging?clock=business'), 422, 'validation_failed');
    check(expectStatus(await admin.c.get('/api/v1/reports/aging'), 200), all, 'calendar', 'no business hours: the calendar');
    const noauth = await client(w.srv, 'nope').get('/api/v1/reports/aging');
    assert.equal(noauth.status, 401);
  });

  it('funnel and win-back: stays in stages and losses kept by every change, over days', async () => {
    const { admin } = w.users;
    const agentId = w.users.agent.id;
    const stages = items(await admin.c.get('/api/v1/stages')).sort((a, b) => a.position - b.position);
    const S = Object.fromEntries(stages.map((s) => [s.name, s.id]));
    const reasons = items(await admin.c.get('/api/v1/lost-reasons'));
    const R = Object.fromEntries(reasons.map((r) => [r.name, r.id]));
    const t0 = Date.now();
    const mk = async (name, extraBody = {}) => expectStatus(await admin.c.post('/api/v1/leads', { full_name: name, owner_id: agentId, ...extraBody }), 201);
    // day 0
    const A = await mk('Funnel A'), B = await mk('Funnel B'), C = await mk('Funnel C'), D = await mk('Funnel D');
    const E = await mk('Lost E', { emails: [`e${process.pid}@example.com`] });
    const G = await mk('Lost G'), H = await mk('Lost H', { phones: ['+14155550100'] });
    const X = await mk('Deleted X');
    // closed history brought in without a reason
    const N = await mk('History N', { status: 'closed', outcome: 'lost', closed_at: iso(Date.now()) });
    assert.equal(N.lost_reason_id, null);
    for (const l of [A, B]) expectStatus(await admin.c.patch(`/api/v1/leads/${l.id}`, { stage_id: S.Contacted }), 200);
    expectStatus(await admin.c.patch(`/api/v1/leads/${C.id}`, { stage_id: S.Quoted }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${E.id}/close`, { outcome: 'lost', reason_id: R.Timing }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${G.id}/close`, { outcome: 'lost', reason_id: R.Spam }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${H.id}/close`, { outcome: 'lost', reason_id: R.Price }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${X.id}/close`, { outcome: 'lost', reason_id: R.Price }), 200);
    expectStatus(await admin.c.del(`/api/v1/leads/${X.id}`), 204);
    await w.srv.stop();

    // day 2: A to Quoted; B lost for Price; a new lead with E's address
    const s2 = await startServer({ db: w.srv.db, env: { LEADPATH_TIME_OFFSET: String(2 * 86400) } });
    extra.push(s2);
    const a2 = client(s2, (await login(s2, w.users.admin.email)).token);
    expectStatus(await a2.patch(`/api/v1/leads/${A.id}`, { stage_id: S.Quoted }), 200);
    expectStatus(await a2.post(`/api/v1/leads/${B.id}/close`, { outcome: 'lost', reason_id: R.Price }), 200);
    const F = expectStatus(await a2.post('/api/v1/leads', { full_name: 'Back F', owner_id: agentId, emails: [`E${process.pid}@Example.com`] }), 201);
    await s2.stop();

    // day 5: A won; B reopened and won; F won; C lost without a reason
    const s5 = await startServer({ db: w.srv.db, env: { LEADPATH_TIME_OFFSET: String(5 * 86400) } });
    extra.push(s5);
    const a5 = client(s5, (await login(s5, w.users.admin.email)).token);
    expectStatus(await a5.post(`/api/v1/leads/${A.id}/close`, { outcome: 'won' }), 200);
    expectStatus(await a5.post(`/api/v1/leads/${B.id}/reopen`, {}), 200);
    expectStatus(await a5.post(`/api/v1/leads/${B.id}/close`, { outcome: 'won' }), 200);
    expectStatus(await a5.post(`/api/v1/leads/${F.id}/close`, { outcome: 'won' }), 200);
    expectStatus(await a5.post(`/api/v1/leads/${C.id}/close`, { outcome: 'lost', reason_id: R['Financing declined'] }), 200);

    // The cohort of leads created from t0 on (aging's own leads were made before it).
    const range = `from=${iso(t0 - 1000)}&to=${iso(t0 + 6 * DAY)}`;
    const f = expectStatus(await a5.get(`/api/v1/reports/funnel?${range}`), 200);
    const row = (name) => f.items.find((r) => r.name === name);
    // Model. Spells: A New(0-0) Contacted(0-2d) Quoted(2d-5d); B New(0-0) Contacted(0-2d, closed) Contacted(5d-5d, reopened then won);
    // C New(0-0) Quoted(0-5d); D New (still); E, G, H New(0-0) closed; F New(2d-5d).
    assert.equal(f.leads, 9, 'A B C D E F G H N (X deleted)');
    assert.equal(f.won, 3, 'A, B, F');
    assert.equal(row('New').reached, 9);
    assert.equal(row('New').moved_on, 4, 'A, B, C moved on; F was won');
    assert.equal(row('Contacted').reached, 2);
    assert.equal(row('Contacted').moved_on, 2, 'A to Quoted, B won');
    assert.equal(row('Quoted').reached, 2);
    assert.equal(row('Quoted').moved_on, 1, 'A won, C lost');
    assert.equal(row('Quoted').conversion, 0.5);
    assert.equal(row('Contacted').conversion_to_next, 1, 'Quoted reached by 2 of the 2 that reached Contacted');
    assert.equal(row('New').in_stage_now, 1, 'D');
    assert.equal(row('Contacted').median_days, 2, 'stays of 2 (A), 2 (B until lost) and 0 days (B reopened and won at once)');
    assert.equal(row('Quoted').median_days, 4, 'A 3 days, C 5 days');
    assert.equal(row('New').median_days, 0, 'seven stays of 0 days, F 3 days');
    assert.equal(row('Sold').reached, 0);
    assert.equal(row('Sold').conversion, null);
    assert.deepEqual(f.items.map((r) => r.stage_id), stages.map((s) => s.id), 'every active stage, in order');
    const fcsv = await a5.get(`/api/v1/reports/funnel?${range}&format=csv`);
    assert.equal(fcsv.status, 200);
    const fl = fcsv.text.trim().split('\r\n');
    assert.equal(fl[0], 'stage_id,name,position,reached,moved_on,conversion,conversion_to_next,in_stage_now,median_days');
    assert.equal(fl.length, stages.length + 1);
    assert.equal(fl[1].split(',')[3], '9');
    // an agent sees only its own leads: the other agent's cohort is empty
    const o5 = client(s5, (await login(s5, w.users.other.email)).token);
    const fo = expectStatus(await o5.get(`/api/v1/reports/funnel?${range}`), 200);
    assert.equal(fo.leads, 0);
    assert.equal(fo.items[0].reached, 0);

    // Win-back model: E (Timing) came back as F, which was won; H (Price) did not; B (Price)
    // was reopened and won; C lost (Financing declined); N lost without a reason; G (Spam) does
    // not count; X was deleted.
    const wb = expectStatus(await a5.get(`/api/v1/reports/win-back?${range}`), 200);
    const by = (name) => wb.items.find((r) => r.name === name);
    assert.deepEqual(by('Price'), { reason_id: R.Price, name: 'Price', lost: 2, came_back: 1, reopened: 1, new_lead: 0, won_later: 1,
      came_back_share: 0.5, won_later_share: 0.5 });
    assert.deepEqual(by('Timing'), { reason_id: R.Timing, name: 'Timing', lost: 1, came_back: 1, reopened: 0, new_lead: 1, won_later: 1,
      came_back_share: 1, won_later_share: 1 });
    assert.equal(by('No reason').lost, 1);
    assert.equal(by('No reason').came_back, 0);
    assert.equal(by('Spam'), undefined, 'a reason not counted in reports stays out');
    assert.equal(by('Financing declined').lost, 1);
    assert.equal(by('Bought elsewhere').lost, 0);
    assert.deepEqual(wb.total, { lost: 5, came_back: 2, reopened: 1, new_lead: 1, won_later: 2, came_back_share: 0.4, won_later_share: 0.4 });
    // a range before any of it: nothing
    const before = expectStatus(await a5.get(`/api/v1/reports/win-back?from=${iso(t0 - 5 * DAY)}&to=${iso(t0 - 4 * DAY)}`), 200);
    assert.equal(before.total.lost, 0);
    const wcsv = await a5.get(`/api/v1/reports/win-back?${range}&format=csv`);
    assert.match(wcsv.text.split('\r\n')[0], /^reason_id,name,lost,came_back,reopened,new_lead,won_later/);
    assert.ok(wcsv.text.includes(`${R.Timing},Timing,1,1,0,1,1,`));
    // the other agent sees none of these losses
    assert.equal(expectStatus(await o5.get(`/api/v1/reports/win-back?${range}`), 200).total.lost, 0);
    await s5.stop();
  });
});
