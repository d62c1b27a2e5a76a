// 58-board-bulk: the pipeline board (GET /leads/board: each column's count and value kept by the
// applier's hook, checked against an independent count after every kind of change; cards and
// their paging), the bulk close's preview (POST /leads/bulk?dry_run=1: how many close, need
// approval or are refused and why, tasks by title, groups by name, follow-ups) and its mixed
// result (each failed lead with its name and reason), and the close preview's named tasks.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, byName, walk, isoNow, DAY, FILE_TIMEOUT_MS } from './lib.mjs';

let w, admin, manager, agent, other, stages, sources, reasons, groups;
before(async () => {
  w = await startWorld();
  ({ admin, manager, agent, other } = w.users);
  stages = items(await admin.c.get('/api/v1/stages'));
  sources = items(await admin.c.get('/api/v1/sources'));
  reasons = items(await admin.c.get('/api/v1/lost-reasons'));
  groups = items(await admin.c.get('/api/v1/groups'));
});
after(async () => { if (w) await w.srv.stop(); });

const mk = async (c, name, extra = {}) => expectStatus(await c.post('/api/v1/leads', { full_name: name, ...extra }), 201);
const board = async (c, q = '') => expectStatus(await c.get(`/api/v1/leads/board${q}`), 200, 'board');

/* The independent count: every open lead the caller may see (the list, walked page by page),
 * grouped by stage in JavaScript. */
async function expected(c, query = 'owner=any') {
  const all = await walk(c, `/api/v1/leads?status=open&${query}`, 500);
  const by = {};
  for (const l of all) {
    const e = (by[l.stage_id] ||= { count: 0, value: 0 });
    e.count++;
    e.value += l.value_cents || 0;
  }
  return by;
}
async function checkBoard(c, query = 'owner=any', what = '') {
  const b = await board(c, `?${query}&limit=3`);
  const want = await expected(c, query);
  for (const col of b.columns) {
    const e = want[col.stage_id] || { count: 0, value: 0 };
    assert.equal(col.count, e.count, `${what} ${query}: count of ${col.name}`);
    assert.equal(col.value_cents, e.value, `${what} ${query}: value of ${col.name}`);
    assert.equal(col.values.reduce((n, v) => n + v.count, 0), col.count, 'values split the count');
    assert.ok(col.items.length <= 3 && col.items.length === Math.min(3, col.count), `${what} cards of ${col.name}`);
    for (const l of col.items) { assert.equal(l.stage_id, col.stage_id); assert.equal(l.status, 'open'); }
  }
  assert.deepEqual(b.columns.map((x) => x.stage_id), stages.filter((s) => s.active !== false).map((s) => s.id), 'columns in stage order');
  return b;
}

describe('pipeline board', { timeout: FILE_TIMEOUT_MS }, () => {
  it('each column\'s count and value equal an independent count after every kind of change', async () => {
    const [s1, s2, s3] = stages;
    const web = sources[0].id, phone = sources[2].id;
    const made = [];
    for (let i = 0; i < 8; i++) {
      made.push(await mk(admin.c, `Board ${i}`, { owner_id: [agent.id, agent.id, other.id, manager.id][i % 4],
        stage_id: [s1.id, s2.id, s3.id][i % 3], source_id: i % 2 ? web : phone, value_cents: 1000 * (i + 1),
        currency: i === 5 ? 'USD' : 'EUR' }));
    }
    await checkBoard(admin.c, 'owner=any', 'after creates');
    // a stage move, an owner change, a value change, a close, a reopen, a delete, a bulk move
    expectStatus(await admin.c.patch(`/api/v1/leads/${made[0].id}`, { stage_id: s3.id }), 200);
    expectStatus(await admin.c.patch(`/api/v1/leads/${made[1].id}`, { owner_id: other.id, value_cents: 77 }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${made[2].id}/close`, { outcome: 'won' }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${made[3].id}/close`, { outcome: 'won' }), 200);
    expectStatus(await admin.c.post(`/api/v1/leads/${made[3].id}/reopen`, { notes: 'back' }), 200);
    expectStatus(await admin.c.del(`/api/v1/leads/${made[4].id}`), 204);
    expectStatus(await admin.c.post('/api/v1/leads/bulk', { ids: [made[5].id, made[6].id], action: 'set_stage', params: { stage_id: s2.id } }), 200);
    await checkBoard(admin.c, 'owner=any', 'after changes');
    await checkBoard(admin.c, `owner=${agent.id}`, 'one owner');
    await checkBoard(admin.c, `owner=any&source=${web}`, 'one source');
    await checkBoard(manager.c, 'owner=any', 'a manager sees the team');
    await checkBoard(agent.c, 'owner=me', 'an agent');
    const mine = await board(agent.c, '?owner=any');
    const agentLeads = await walk(agent.c, '/api/v1/leads?status=open&owner=any', 500);
    assert.equal(mine.columns.reduce((n, c) => n + c.count, 0), agentLeads.length, 'an agent\'s board holds only its own leads');
    const usd = (await board(admin.c, '?owner=any')).columns.flatMap((c) => c.values).find((v) => v.currency === 'USD');
    assert.deepEqual(usd && [usd.count, usd.value_cents], [1, 6000], 'value by currency');
  });

  it('a search counts over its matches; cards page on with the list\'s cursor; bad filters are 422', async () => {
    const tag = `zzboard${process.pid}`;
    const s = stages[0];
    for (let i = 0; i < 5; i++) await mk(admin.c, `${tag} ${i}`, { stage_id: s.id, value_cents: 100 });
    const b = await board(admin.c, `?owner=any&q=${tag}&limit=2`);
    assert.equal(b.counted, 'matched');
    const col = b.columns.find((c) => c.stage_id === s.id);
    assert.equal(col.count, 5);
    assert.equal(col.value_cents, 500);
    assert.equal(b.columns.reduce((n, c) => n + c.count, 0), 5, 'only the matches');
    assert.equal(col.items.length, 2);
    assert.ok(col.next_cursor);
    const next = expectStatus(await admin.c.get(`/api/v1/leads?status=open&owner=any&stage=${s.id}&q=${tag}&limit=2&cursor=${encodeURIComponent(col.next_cursor)}`), 200);
    assert.equal(next.items.length, 2);
    assert.ok(!next.items.some((l) => col.items.some((x) => x.id === l.id)), 'the next cards are new ones');
    assert.equal((await board(admin.c, '?owner=any')).counted, 'kept');
    expectError(await admin.c.get('/api/v1/leads/board?owner=nobody'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/leads/board?limit=1000'), 422, 'validation_failed');
    expectError(await admin.c.get('/api/v1/leads/board?source=x'), 422, 'validation_failed');
  });
});

describe('bulk close with the care of a single close', { timeout: FILE_TIMEOUT_MS }, () => {
  const price = () => byName(reasons, 'Price').id;
  const live = () => byName(groups, 'Live Leads');
  async function fixtures(tag) {
    const a = await mk(manager.c, `${tag} Ada`, { owner_id: agent.id });
    const overdue = expectStatus(await manager.c.post(`/api/v1/leads/${a.id}/tasks`, { type: 'call', title: `Call ${tag} Ada back`, due_at: isoNow(-2 * DAY) }), 201);
    const b = await mk(manager.c, `${tag} Bea`);
    const closed = await mk(manager.c, `${tag} Cy`);
    expectStatus(await manager.c.post(`/api/v1/leads/${closed.id}/close`, { outcome: 'won' }), 200);
    const hidden = await mk(admin.c, `${tag} Hidden`, { owner_id: other.id });  /* not in the manager's team */
    return { a, b, closed, hidden, overdue };
  }

  it('dry_run previews the whole selection: closes, refusals and why, tasks by title, groups by name, follow-ups; nothing changes', async () => {
    const f = await fixtures('Prev');
    const before = expectStatus(await manager.c.get(`/api/v1/leads/${f.a.id}`), 200);
    const body = { ids: [f.a.id, f.b.id, f.closed.id, f.hidden.id], action: 'close',
      params: { outcome: 'lost', reason_id: price(), notes: 'bulk', follow_up: { due_at: isoNow(30 * DAY) } } };
    const p = expectStatus(await manager.c.post('/api/v1/leads/bulk?dry_run=1', body), 200);
    assert.equal(p.dry_run, true);
    assert.equal(p.total, 4);
    assert.equal(p.will_close, 2);
    assert.equal(p.needs_approval, 0);
    assert.equal(p.refused, 2);
    assert.deepEqual(p.tasks_completed.map((t) => [t.title, t.lead_id]), [[`Call Prev Ada back`, f.a.id]], 'the overdue task, by title');
    assert.equal(p.tasks_completed[0].due_at, f.overdue.due_at);
    assert.equal(p.follow_ups, 2);
    assert.deepEqual(p.groups, [{ id: live().id, name: 'Live Leads', leads: 2 }]);
    assert.deepEqual(p.refusals.map((r) => r.code).sort(), ['conflict', 'not_found']);
    const byId = Object.fromEntries(p.items.map((x) => [x.id, x]));
    assert.equal(byId[f.a.id].result, 'close');
    assert.equal(byId[f.closed.id].result, 'refused');
    assert.equal(byId[f.closed.id].full_name, 'Prev Cy', 'a refused lead the caller sees is named');
    assert.equal(byId[f.closed.id].error.code, 'conflict');
    assert.equal(byId[f.hidden.id].full_name, null, 'a lead the caller may not see is not named');
    const after = expectStatus(await manager.c.get(`/api/v1/leads/${f.a.id}`), 200);
    assert.equal(after.status, 'open');
    assert.equal(after.version, before.version, 'nothing changed');
    // a reason missing: every open lead is refused with the field named
    const miss = expectStatus(await manager.c.post('/api/v1/leads/bulk?dry_run=1', { ids: [f.a.id], action: 'close', params: { outcome: 'lost' } }), 200);
    assert.equal(miss.refused, 1);
    assert.ok('reason_id' in miss.items[0].error.fields);
    // other actions have no preview
    expectError(await manager.c.post('/api/v1/leads/bulk?dry_run=1', { ids: [f.a.id], action: 'delete' }), 422, 'validation_failed');
  });

  it('a policy of request shows as needs approval in the preview', async () => {
    const roles = items(await admin.c.get('/api/v1/roles'));
    const mgr = byName(roles, 'manager');
    expectStatus(await admin.c.patch(`/api/v1/roles/${mgr.id}`, { policy: { close_lost: 'request' } }), 200);
    try {
      const l = await mk(manager.c, 'Needs Approval Lead');
      const p = expectStatus(await manager.c.post('/api/v1/leads/bulk?dry_run=1', { ids: [l.id], action: 'close', params: { outcome: 'lost', reason_id: price() } }), 200);
      assert.equal(p.needs_approval, 1);
      assert.equal(p.will_close, 0);
      assert.equal(p.items[0].result, 'approval');
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${mgr.id}`, { policy: { close_lost: 'allow' } }), 200);
    }
  });

  it('the real close gives a mixed result: each failed lead with its name and reason', async () => {
    const f = await fixtures('Mix');
    const r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [f.a.id, f.b.id, f.closed.id, f.hidden.id], action: 'close',
      params: { outcome: 'lost', reason_id: price() } }), 200);
    assert.equal(r.succeeded, 2);
    assert.equal(r.failed, 2);
    const bad = r.results.filter((x) => !x.ok);
    assert.deepEqual(bad.map((x) => [x.id, x.full_name, x.error.code]),
      [[f.closed.id, 'Mix Cy', 'conflict'], [f.hidden.id, null, 'not_found']]);
    assert.equal(expectStatus(await manager.c.get(`/api/v1/leads/${f.a.id}`), 200).outcome, 'lost');
  });

  it('the single close preview names its tasks and groups', async () => {
    const l = await mk(admin.c, 'Named Preview');
    const t = expectStatus(await admin.c.post(`/api/v1/leads/${l.id}/tasks`, { type: 'call', title: 'Ring about the offer', due_at: isoNow(3 * DAY) }), 201);
    const p = expectStatus(await admin.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, { outcome: 'won' }), 200).plan;
    assert.deepEqual(p.tasks_cancelled, [{ id: t.id, title: 'Ring about the offer', type: 'call', due_at: t.due_at }]);
    const q = expectStatus(await admin.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, { outcome: 'treated', groups: [live().id] }), 200).plan;
    assert.deepEqual(q.groups, [{ id: live().id, name: 'Live Leads' }]);
  });
});
