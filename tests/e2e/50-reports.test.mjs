// 50-reports: the outcome and lost-reason reports (GET /reports/outcomes, /reports/lost-reasons)
// read kept counters; every figure here is checked against counts the test computes itself from
// the leads it made (read back one by one), after creates with history, import, updates of source
// and owner, a Sold stage, closes, reopen, re-close, delete and bulk changes. `leadpath reports
// check` proves the kept counters equal the ones recomputed from the leads after each step.
// Also: CSV, leads.view (agent: own leads; manager: team), API tokens, the drill-down filters.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startWorld, request, expectStatus, expectError, items, byName, runCli, until, FILE_TIMEOUT_MS, DAY, reportLists, leadBook } from './lib.mjs';

let w;
let lists;
const book = leadBook();   // every lead this file created
const { made, mk } = book;
const leadsNow = () => book.now(w.users.admin.c);
before(async () => {
  w = await startWorld();
  lists = await reportLists(w.users.admin.c);
});
after(async () => { if (w) await w.srv.stop(); });

const day = (offsetDays) => new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);
const FROM = day(-80);
const TO = day(0);
const src = (name) => byName(lists.sources, name).id;
const reason = (name) => byName(lists.reasons, name).id;

const kindOf = (key) => (key ? lists.outcomes.find((o) => o.key === key).kind : 'open');
const counted = (l) => !l.lost_reason_id || lists.reasons.find((r) => r.id === l.lost_reason_id).counts_in_reports;
const inRange = (t, from, to) => t && t.slice(0, 10) >= from && t.slice(0, 10) <= to;

/** The report the model expects: {key: {open, won, lost, neutral, value_won_cents}}. */
function expected(leads, { group, date = 'created', from = FROM, to = TO, visible = () => true, teamOf = null }) {
  const at = { created: 'created_at', closed: 'closed_at', sold: 'sold_at' }[date];
  const rows = {};
  for (const l of leads) {
    if (!visible(l) || !counted(l) || !inRange(l[at], from, to)) continue;
    if (date === 'closed' && l.status !== 'closed') continue;
    const col = { source: 'source_id', owner: 'owner_id', lost_reason: 'lost_reason_id', stage: 'stage_id', team: 'owner_id' }[group];
    let key = l[col] == null ? '' : String(l[col]);
    if (group === 'team' && key) key = String(teamOf(Number(key)));
    const r = rows[key] ||= { open: 0, won: 0, lost: 0, neutral: 0, value_won_cents: 0 };
    const k = l.status === 'closed' ? kindOf(l.outcome) : 'open';
    r[k] += 1;
    if (k === 'won') r.value_won_cents += l.value_cents || 0;
  }
  return rows;
}

function figures(report) {
  const out = {};
  for (const it of report.items) {
    const { open, won, lost, neutral, value_won_cents } = it;
    if (open + won + lost + neutral) out[it.key] = { open, won, lost, neutral, value_won_cents };
  }
  return out;
}

async function check(what, c = w.users.admin.c, opts = {}) {
  const leads = await leadsNow();
  for (const group of opts.groups || ['source', 'owner', 'lost_reason', 'stage', 'team']) {
    for (const date of ['created', 'closed', 'sold']) {
      const r = expectStatus(await c.get(`/api/v1/reports/outcomes?group_by=${group}&date=${date}&from=${FROM}&to=${TO}`), 200);
      const teamOf = (id) => ({ [w.users.agent.id]: w.users.manager.id, [w.users.agent2.id]: w.users.manager.id }[id] ?? id);
      assert.deepEqual(figures(r), expected(leads, { group, date, visible: opts.visible, teamOf }), `${what}: group_by=${group} date=${date}`);
    }
  }
  const res = await runCli(['reports', 'check', '--db', w.srv.db]);
  assert.equal(res.code, 0, `${what}: kept counters equal the recomputed ones: ${res.stdout}${res.stderr}`);
  assert.match(res.stdout, /^0 rows differ/);
}

describe('reports', { timeout: FILE_TIMEOUT_MS * 3 }, () => {
  it('counts creates (history included), sales and closes by every date kind', async () => {
    const { admin, agent, agent2, other } = w.users;
    const sold = byName(lists.stages, 'Sold').id;
    await mk(admin.c, { full_name: 'R old web', source_id: src('Web form'), owner_id: agent.id, created_at: `${day(-60)}T10:00:00Z`, value_cents: 1000 });
    await mk(admin.c, { full_name: 'R old phone', source_id: src('Phone'), owner_id: agent2.id, created_at: `${day(-33)}T23:59:59Z`, value_cents: 2500 });
    await mk(admin.c, { full_name: 'R closed history', source_id: src('Phone'), owner_id: other.id, created_at: `${day(-40)}T08:00:00Z`,
      status: 'closed', outcome: 'won', closed_at: `${day(-35)}T08:00:00Z`, value_cents: 7000 });
    await mk(admin.c, { full_name: 'R too old', source_id: src('Phone'), owner_id: other.id, created_at: `${day(-200)}T08:00:00Z` });
    await mk(agent.c, { full_name: 'R today', source_id: src('Referral'), value_cents: 300 });
    await mk(agent.c, { full_name: 'R sold', source_id: src('Referral'), stage_id: sold, value_cents: 900 });
    await mk(agent2.c, { full_name: 'R no source' });
    await check('after creates');
  });

  it('follows closes, reopen, re-close, a Sold stage move and changes of source and owner', async () => {
    const { admin, manager, agent, agent2 } = w.users;
    const a = await mk(agent.c, { full_name: 'R close me', source_id: src('Email'), value_cents: 5000 });
    const b = await mk(agent.c, { full_name: 'R lose me', source_id: src('Email') });
    const s = await mk(agent2.c, { full_name: 'R spam', source_id: src('Chat') });
    expectStatus(await agent.c.post(`/api/v1/leads/${a.id}/close`, { outcome: 'won' }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/close`, { outcome: 'lost', reason_id: reason('Price') }), 200);
    expectStatus(await agent2.c.post(`/api/v1/leads/${s.id}/close`, { outcome: 'lost', reason_id: reason('Spam') }), 200);
    await check('after closes');
    expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/reopen`, { notes: 'came back' }), 200);
    await check('after reopen');
    expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/close`, { outcome: 'converted' }), 200);
    await check('after re-close');
    const c = await mk(agent.c, { full_name: 'R move me', source_id: src('Web form'), value_cents: 1200 });
    expectStatus(await agent.c.patch(`/api/v1/leads/${c.id}`, { stage_id: byName(lists.stages, 'Sold').id }), 200);
    expectStatus(await manager.c.patch(`/api/v1/leads/${c.id}`, { source_id: src('Partner'), owner_id: agent2.id, value_cents: 1500 }), 200);
    await check('after a sale and a change of source and owner');
    expectStatus(await admin.c.patch(`/api/v1/leads/${a.id}`, { source_id: src('SMS') }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${a.id}/close`, { outcome: 'won' }), 409);
    await check('after a closed lead changed source');
  });

  it('follows deletes, bulk changes and an import', async () => {
    const { admin, manager, agent, agent2 } = w.users;
    const d = await mk(agent.c, { full_name: 'R delete me', source_id: src('Walk-in') });
    expectStatus(await manager.c.post(`/api/v1/leads/${d.id}/close`, { outcome: 'lost', reason_id: reason('Timing') }), 200);
    expectStatus(await manager.c.del(`/api/v1/leads/${d.id}`), 204);
    const x = await mk(agent.c, { full_name: 'R bulk 1', source_id: src('Walk-in') });
    const y = await mk(agent2.c, { full_name: 'R bulk 2', source_id: src('Walk-in') });
    let r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [x.id, y.id], action: 'close', params: { outcome: 'lost', reason_id: reason('No response') } }), 200);
    assert.equal(r.succeeded, 2);
    r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [x.id], action: 'assign', params: { owner_id: manager.id } }), 200);
    assert.equal(r.succeeded, 1);
    await check('after delete and bulk');
    // a close that needs approval counts only once the manager approves it
    const role = items(await admin.c.get('/api/v1/roles')).find((x) => x.name === 'agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'request' } }), 200);
    try {
      const ap = await mk(agent.c, { full_name: 'R approve me', source_id: src('Referral') });
      const asked = expectStatus(await agent.c.post(`/api/v1/leads/${ap.id}/close`, { outcome: 'lost', reason_id: reason('Timing') }), 202);
      await check('after an approval was asked');
      expectStatus(await manager.c.post(`/api/v1/approvals/${asked.approval.id}/approve`, {}), 200);
      assert.equal(expectStatus(await admin.c.get(`/api/v1/leads/${ap.id}`), 200).status, 'closed');
      await check('after the approval was carried out', admin.c, { groups: ['source', 'lost_reason'] });
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'allow' } }), 200);
    }
    const csv = 'full_name,source_id,owner_email,value_cents\r\n' +
      `R imported 1,${src('Partner')},agent@e2e.test,400\r\n` +
      `R imported 2,${src('Partner')},agent2@e2e.test,\r\n` +
      `R imported 3,,manager@e2e.test,100\r\n`;
    const acc = expectStatus(await admin.c.post('/api/v1/import/leads', undefined, { raw: csv, contentType: 'text/csv' }), 202);
    const job = await until('import', async () => {
      const j = expectStatus(await admin.c.get(`/api/v1/jobs/${acc.job_id}`), 200);
      return j.status === 'done' || j.status === 'failed' ? j : null;
    });
    assert.equal(job.result.created, 3);
    for (const l of items(await admin.c.get('/api/v1/leads?q=imported&status=all&owner=any'))) made.add(l.id);
    await check('after an import');
  });

  it('a random mix of changes keeps the counters equal to the recomputed ones', async () => {
    const { manager, agent, agent2 } = w.users;
    let seed = 12345;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await mk(manager.c, { full_name: `R mix ${i}`, source_id: lists.sources[rnd(lists.sources.length)].id, owner_id: [agent.id, agent2.id, manager.id][rnd(3)], value_cents: 100 * rnd(50) })).id);
    for (let step = 0; step < 40; step++) {
      const id = ids[rnd(ids.length)];
      const op = rnd(6);
      if (op === 0) await manager.c.post(`/api/v1/leads/${id}/close`, { outcome: ['won', 'lost', 'treated', 'abandoned'][rnd(4)], reason_id: lists.reasons[rnd(lists.reasons.length)].id });
      else if (op === 1) await manager.c.post(`/api/v1/leads/${id}/reopen`, {});
      else if (op === 2) await manager.c.patch(`/api/v1/leads/${id}`, { source_id: lists.sources[rnd(lists.sources.length)].id });
      else if (op === 3) await manager.c.patch(`/api/v1/leads/${id}`, { owner_id: [agent.id, agent2.id, manager.id][rnd(3)] });
      else if (op === 4) await manager.c.patch(`/api/v1/leads/${id}`, { stage_id: lists.stages[rnd(lists.stages.length)].id });
      else if (rnd(4) === 0) await manager.c.del(`/api/v1/leads/${id}`);
    }
    await check('after a random mix', manager.c, { groups: ['source', 'owner'], visible: (l) => [manager.id, agent.id, agent2.id].includes(l.owner_id) });
  });

  it('respects leads.view: an agent sees its own figures, a manager the team; works with an API token', async () => {
    const { agent, manager } = w.users;
    await check('as the agent', agent.c, { groups: ['source', 'owner'], visible: (l) => l.owner_id === agent.id });
    await check('as the manager', manager.c, { groups: ['source', 'team'], visible: (l) => [manager.id, agent.id, w.users.agent2.id].includes(l.owner_id) });
    const tok = expectStatus(await agent.c.post('/api/v1/tokens', { name: 'reports' }), 201);
    const r = await request(w.srv, 'GET', `/api/v1/reports/outcomes?group_by=owner&from=${FROM}&to=${TO}`, { token: tok.token });
    expectStatus(r, 200);
    assert.deepEqual(r.body.items.map((i) => i.key), [String(agent.id)], 'a token sees what its user sees');
  });

  it('compares with the previous period, and refuses bad parameters', async () => {
    const { admin } = w.users;
    const r = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?group_by=source&from=${day(-29)}&to=${TO}&compare=previous`), 200);
    const leads = await leadsNow();
    const prev = expected(leads, { group: 'source', from: day(-59), to: day(-30) });
    const got = {};
    for (const it of r.items) {
      const p = it.previous;
      if (p.open + p.won + p.lost + p.neutral) got[it.key] = { open: p.open, won: p.won, lost: p.lost, neutral: p.neutral, value_won_cents: p.value_won_cents };
    }
    for (const [k, v] of Object.entries(prev)) assert.deepEqual(got[k], v, `previous period of source ${k}`);
    assert.equal(r.previous_range.from, day(-59));
    assert.equal(r.totals.previous.total, Object.values(prev).reduce((s, x) => s + x.open + x.won + x.lost + x.neutral, 0));
    expectError(await admin.c.get('/api/v1/reports/outcomes?group_by=colour'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/reports/outcomes?date=yesterday'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/reports/outcomes?from=2026-13-01'), 422, 'validation_failed');
    expectError(await admin.c.get(`/api/v1/reports/outcomes?from=${TO}&to=${day(-3)}`), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/reports/outcomes?group_by=owner&source=1'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/reports/lost-reasons?group_by=stage'), 422, 'validation_failed');
  });

  it('lost reasons: count and share per reason, the lost leads without one, Spam left out, and the drill-down', async () => {
    const { admin, agent } = w.users;
    // closed history migrated in may have no reason (closing by hand asks for one)
    await mk(admin.c, { full_name: 'R lost no reason', source_id: src('Email'), owner_id: agent.id, status: 'closed', outcome: 'abandoned', closed_at: `${day(-1)}T12:00:00Z`, created_at: `${day(-3)}T12:00:00Z` });
    const r = expectStatus(await admin.c.get(`/api/v1/reports/lost-reasons?from=${FROM}&to=${TO}`), 200);
    const leads = (await leadsNow()).filter((l) => l.status === 'closed' && kindOf(l.outcome) === 'lost' && counted(l) && inRange(l.closed_at, FROM, TO));
    const want = {};
    for (const l of leads) if (l.lost_reason_id) want[l.lost_reason_id] = (want[l.lost_reason_id] || 0) + 1;
    assert.deepEqual(Object.fromEntries(r.items.map((i) => [i.reason_id, i.count])), want);
    assert.equal(r.no_reason, leads.filter((l) => !l.lost_reason_id).length);
    assert.ok(r.no_reason >= 1);
    assert.equal(r.lost, leads.length);
    assert.ok(!r.items.some((i) => i.name === 'Spam'), 'Spam does not count in reports');
    for (const it of r.items) {
      assert.ok(Math.abs(it.share - it.count / leads.length) < 1e-9);
      const qs = new URLSearchParams(it.leads).toString();
      const behind = items(await admin.c.get(`/api/v1/leads?${qs}&limit=500`));
      assert.equal(behind.length, it.count, `the leads list behind ${it.name} (${qs})`);
      assert.ok(behind.every((l) => l.lost_reason_id === it.reason_id));
    }
    const none = items(await admin.c.get(`/api/v1/leads?${new URLSearchParams(r.no_reason_leads)}&limit=500`));
    assert.equal(none.length, r.no_reason);
    const by = expectStatus(await admin.c.get(`/api/v1/reports/lost-reasons?from=${FROM}&to=${TO}&group_by=owner`), 200);
    assert.equal(by.items.reduce((s, i) => s + i.count, 0), Object.values(want).reduce((s, n) => s + n, 0));
    for (const it of by.items) assert.equal(it.count, leads.filter((l) => String(l.owner_id) === it.key && l.lost_reason_id === it.reason_id).length);
    // An admin marks Price as not counted: it leaves every figure at once.
    const price = byName(lists.reasons, 'Price');
    expectStatus(await admin.c.patch(`/api/v1/lost-reasons/${price.id}`, { counts_in_reports: false }), 200);
    const after = expectStatus(await admin.c.get(`/api/v1/reports/lost-reasons?from=${FROM}&to=${TO}`), 200);
    assert.ok(!after.items.some((i) => i.reason_id === price.id));
    expectStatus(await admin.c.patch(`/api/v1/lost-reasons/${price.id}`, { counts_in_reports: true }), 200);
  });

  it('the outcome rows drill down to the leads behind them', async () => {
    const { admin } = w.users;
    const r = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?group_by=source&from=${FROM}&to=${TO}`), 200);
    for (const it of r.items) {
      const behind = items(await admin.c.get(`/api/v1/leads?${new URLSearchParams(it.leads)}&limit=500`));
      assert.equal(behind.length, it.total, `leads behind source ${it.label}`);
      const won = items(await admin.c.get(`/api/v1/leads?${new URLSearchParams({ ...it.leads, outcome_kind: 'won' })}&limit=500`));
      assert.equal(won.length, it.won);
    }
  });

  it('answers CSV with names and proper quoting', async () => {
    const { admin } = w.users;
    expectStatus(await admin.c.patch(`/api/v1/sources/${src('Walk-in')}`, { name: 'Walk-in, "street"' }), 200);
    const r = await admin.c.get(`/api/v1/reports/outcomes?group_by=source&from=${FROM}&to=${TO}&format=csv&compare=previous`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/csv/);
    assert.match(r.headers['content-disposition'], /attachment; filename="outcomes.csv"/);
    const lines = r.text.trim().split('\r\n');
    assert.equal(lines[0], 'key,label,open,won,lost,neutral,total,win_rate,value_won_cents,previous_open,previous_won,previous_lost,previous_neutral,previous_total,previous_win_rate,previous_value_won_cents');
    assert.ok(lines.some((l) => l.startsWith(`${src('Walk-in')},"Walk-in, ""street""",`)), r.text);
    assert.match(lines.at(-1), /^,Total,/);
    const j = expectStatus(await admin.c.get(`/api/v1/reports/outcomes?group_by=source&from=${FROM}&to=${TO}`), 200);
    assert.equal(lines.length, j.items.length + 2);
    const lr = await admin.c.get(`/api/v1/reports/lost-reasons?from=${FROM}&to=${TO}&format=csv`);
    assert.equal(lr.status, 200);
    assert.equal(lr.text.split('\r\n')[0], 'reason_id,reason,count,share');
    assert.match(lr.text, /,\(no reason\),\d+,/);
  });

  it('`leadpath reports check` finds counters that went wrong and `rebuild` puts them back', async () => {
    const sql = 'UPDATE report_counts SET n = n + 5 WHERE dim = 0 AND kind = 0 AND grain = 0';
    if (w.srv.db.startsWith('sqlite:')) execFileSync('sqlite3', [w.srv.db.slice(7), sql]);
    else execFileSync('psql', [w.srv.db, '-qAt', '-c', sql]);
    let res = await runCli(['reports', 'check', '--db', w.srv.db]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /^[1-9]\d* rows differ/);
    res = await runCli(['reports', 'rebuild', '--db', w.srv.db]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /rebuilt \([1-9]\d* rows differed/);
    res = await runCli(['reports', 'check', '--db', w.srv.db]);
    assert.equal(res.code, 0, res.stdout);
    await check('after a rebuild', w.users.admin.c, { groups: ['owner'] });
  });
});
