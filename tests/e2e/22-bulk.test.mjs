// 22-bulk: POST /leads/bulk runs one action over many leads through the single-lead rules:
// per-lead results, refusals that do not undo the rest, the bulk policy, filters as selection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, byName, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { if (w) await w.srv.stop(); });

const mk = async (c, name, extra = {}) => expectStatus(await c.post('/api/v1/leads', { full_name: name, ...extra }), 201);

describe('bulk actions', { timeout: FILE_TIMEOUT_MS }, () => {
  it('set_stage, assign and add_to_group change every lead and write their timeline events', async () => {
    const { manager, agent } = w.users;
    const a = await mk(manager.c, 'Bulk A', { owner_id: agent.id });
    const b = await mk(manager.c, 'Bulk B', { owner_id: agent.id });
    const quoted = byName(items(await manager.c.get('/api/v1/stages')), 'Quoted');
    let r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [a.id, b.id], action: 'set_stage', params: { stage_id: quoted.id } }), 200);
    assert.equal(r.succeeded, 2);
    assert.equal(r.failed, 0);
    assert.deepEqual(r.results.map((x) => x.ok), [true, true]);
    for (const l of [a, b]) {
      const now = expectStatus(await manager.c.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(now.stage_id, quoted.id);
      assert.ok(items(await manager.c.get(`/api/v1/leads/${l.id}/timeline`)).some((e) => e.kind === 'stage_changed'));
    }
    const group = byName(items(await manager.c.get('/api/v1/groups')), 'Newsletter');
    r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [a.id, b.id], action: 'add_to_group', params: { group_id: group.id } }), 200);
    assert.equal(r.succeeded, 2);
    assert.ok(expectStatus(await manager.c.get(`/api/v1/leads/${a.id}`), 200).groups.includes(group.id));
    r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [a.id], action: 'assign', params: { owner_id: manager.id } }), 200);
    assert.equal(expectStatus(await manager.c.get(`/api/v1/leads/${a.id}`), 200).owner_id, manager.id);
  });

  it('close goes through the close rules per lead: one refusal (already closed) does not undo the others', async () => {
    const { manager } = w.users;
    const a = await mk(manager.c, 'Close A');
    const b = await mk(manager.c, 'Close B');
    expectStatus(await manager.c.post(`/api/v1/leads/${b.id}/close`, { outcome: 'won' }), 200);
    const reason = byName(items(await manager.c.get('/api/v1/lost-reasons')), 'Price').id;
    const r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { ids: [a.id, b.id], action: 'close', params: { outcome: 'lost', reason_id: reason } }), 200);
    assert.equal(r.succeeded, 1);
    assert.equal(r.failed, 1);
    const bad = r.results.find((x) => x.id === b.id);
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'conflict');
    const closed = expectStatus(await manager.c.get(`/api/v1/leads/${a.id}`), 200);
    assert.equal(closed.outcome, 'lost');
    assert.equal(closed.lost_reason_id, reason);
    assert.equal(expectStatus(await manager.c.get(`/api/v1/leads/${b.id}`), 200).outcome, 'won', 'the refused lead is untouched');
  });

  it('a filter selects the leads; delete removes them from every list', async () => {
    const { manager } = w.users;
    const tag = `zzbulk${process.pid}`;
    await mk(manager.c, `${tag} one`);
    await mk(manager.c, `${tag} two`);
    const keep = await mk(manager.c, 'Someone else');
    const r = expectStatus(await manager.c.post('/api/v1/leads/bulk', { filter: { q: tag, owner: 'me' }, action: 'delete' }), 200);
    assert.equal(r.succeeded, 2);
    assert.equal(items(await manager.c.get(`/api/v1/leads?q=${tag}`)).length, 0);
    expectStatus(await manager.c.get(`/api/v1/leads/${keep.id}`), 200);
  });

  it('agents may not run bulk actions (403); bad requests answer 422 and change nothing', async () => {
    const { agent, manager } = w.users;
    const l = await mk(agent.c, 'Agent lead');
    expectError(await agent.c.post('/api/v1/leads/bulk', { ids: [l.id], action: 'delete' }), 403, 'forbidden');
    let e = expectError(await manager.c.post('/api/v1/leads/bulk', { ids: [l.id], action: 'explode' }), 422, 'validation_failed');
    assert.ok('action' in e.fields);
    e = expectError(await manager.c.post('/api/v1/leads/bulk', { ids: [l.id], action: 'set_stage', params: {} }), 422, 'validation_failed');
    assert.ok('stage_id' in e.fields);
    e = expectError(await manager.c.post('/api/v1/leads/bulk', { action: 'delete' }), 422, 'validation_failed');
    assert.ok('ids' in e.fields);
    expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
  });
});
