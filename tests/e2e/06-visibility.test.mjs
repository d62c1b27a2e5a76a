// 06-visibility: the leads.view policy — an agent sees only its own leads (another's answers
// 404 and is absent from lists and search), a manager sees its reports' leads, an admin sees all.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, FILE_TIMEOUT_MS, walk } from './lib.mjs';

let w;
let U;
const L = {};
before(async () => {
  w = await startWorld();
  U = w.users;
  const mk = async (who, name) => expectStatus(await U[who].c.post('/api/v1/leads', { full_name: name, company: 'Visibility Co' }), 201);
  L.agent = await mk('agent', 'Vis Agent Lead');
  L.agent2 = await mk('agent2', 'Vis Agent2 Lead');
  L.other = await mk('other', 'Vis Other Lead');
  L.manager = await mk('manager', 'Vis Manager Lead');
  L.admin = await mk('admin', 'Vis Admin Lead');
});
after(async () => { if (w) await w.srv.stop(); });

const listed = async (who, q = 'owner=any&status=all') =>
  (await walk(U[who].c, `/api/v1/leads?${q}`, 500)).map((l) => l.id);
const sorted = (a) => [...a].sort((x, y) => x - y);

describe('leads.view', { timeout: FILE_TIMEOUT_MS }, () => {
  it("an agent gets 404 for another agent's lead on every lead route, and nothing changes", async () => {
    const id = L.agent2.id;
    const c = U.agent.c;
    expectError(await c.get(`/api/v1/leads/${id}`), 404, 'not_found', 'GET');
    expectError(await c.patch(`/api/v1/leads/${id}`, { full_name: 'Hijacked' }), 404, 'not_found', 'PATCH');
    expectError(await c.post(`/api/v1/leads/${id}/close`, { outcome: 'treated' }), 404, 'not_found', 'close');
    expectError(await c.get(`/api/v1/leads/${id}/timeline`), 404, 'not_found', 'timeline');
    expectError(await c.get(`/api/v1/leads/${id}/transitions`), 404, 'not_found', 'transitions');
    expectError(await c.post(`/api/v1/leads/${id}/comments`, { body: 'hi' }), 404, 'not_found', 'comment');
    expectError(await c.post(`/api/v1/leads/${id}/tasks`, { type: 'call', title: 'x', due_at: '2030-01-01T00:00:00Z' }),
      404, 'not_found', 'task');
    const fresh = expectStatus(await U.admin.c.get(`/api/v1/leads/${id}`), 200);
    assert.equal(fresh.full_name, 'Vis Agent2 Lead');
    assert.equal(fresh.status, 'open');
    assert.equal(fresh.version, 1);
  });

  it("an agent's lists show only its own leads, even with owner=any, owner=<other id> or q", async () => {
    assert.deepEqual(await listed('agent'), [L.agent.id]);
    assert.deepEqual(await listed('agent', `owner=${U.agent2.id}&status=all`), []);
    assert.deepEqual(await listed('agent', 'owner=any&q=Visibility'), [L.agent.id]);
    assert.deepEqual(await listed('other'), [L.other.id]);
  });

  it("an agent creating a lead for another owner never gains access to a lead it cannot see", async () => {
    // The contract leaves open whether an agent may set owner_id; either way (201 owned as
    // asked, or 403/422) the agent must not read a lead owned by someone outside its view.
    const r = await U.agent.c.post('/api/v1/leads', { full_name: 'Given Away', owner_id: U.other.id });
    assert.ok([201, 403, 422].includes(r.status), `got ${r.status} ${r.text}`);
    if (r.status === 201 && r.body.owner_id === U.other.id) {
      expectError(await U.agent.c.get(`/api/v1/leads/${r.body.id}`), 404, 'not_found', 'agent cannot read a lead it gave away');
    }
  });

  it("a manager sees its reports' leads and its own, not those of agents outside its team", async () => {
    const c = U.manager.c;
    expectStatus(await c.get(`/api/v1/leads/${L.agent.id}`), 200, "report's lead");
    expectStatus(await c.get(`/api/v1/leads/${L.agent2.id}`), 200, "other report's lead");
    expectError(await c.get(`/api/v1/leads/${L.other.id}`), 404, 'not_found', 'outside the team');
    expectError(await c.get(`/api/v1/leads/${L.admin.id}`), 404, 'not_found', "admin's lead");
    const ids = await listed('manager', 'owner=any&status=all&q=Visibility');
    assert.deepEqual(sorted(ids), sorted([L.agent.id, L.agent2.id, L.manager.id]));
    assert.deepEqual(await listed('manager', `owner=${U.agent.id}`), [L.agent.id], 'owner=<report id>');
    assert.deepEqual(await listed('manager', 'owner=me'), [L.manager.id]);
    // A manager may act on a report's lead.
    const p = expectStatus(await c.patch(`/api/v1/leads/${L.agent.id}`, { city: 'Managed' }), 200);
    assert.equal(p.city, 'Managed');
  });

  it('an admin sees every lead', async () => {
    const ids = await listed('admin', 'owner=any&status=all&q=Visibility');
    assert.deepEqual(sorted(ids), sorted(Object.values(L).map((l) => l.id)));
    for (const l of Object.values(L)) expectStatus(await U.admin.c.get(`/api/v1/leads/${l.id}`), 200);
    const t = await U.admin.c.get('/api/v1/leads?owner=any&total=1&q=Visibility');
    assert.equal(t.body.total, 5);
  });

  it("after reassignment the new owner sees the lead and the old agent gets 404", async () => {
    const l = expectStatus(await U.admin.c.post('/api/v1/leads', { full_name: 'Moving Lead', owner_id: U.agent.id }), 201);
    expectStatus(await U.agent.c.get(`/api/v1/leads/${l.id}`), 200);
    expectStatus(await U.admin.c.patch(`/api/v1/leads/${l.id}`, { owner_id: U.other.id }), 200);
    expectError(await U.agent.c.get(`/api/v1/leads/${l.id}`), 404, 'not_found');
    expectStatus(await U.other.c.get(`/api/v1/leads/${l.id}`), 200);
  });

  it("tasks of leads an agent cannot see are not listed to it", async () => {
    const t = expectStatus(await U.admin.c.post(`/api/v1/leads/${L.agent2.id}/tasks`,
      { type: 'call', title: 'Secret call', due_at: '2030-01-01T10:00:00Z' }), 201);
    const seen = (await walk(U.other.c, '/api/v1/tasks?assignee=any&status=all', 500)).map((x) => x.id);
    assert.ok(!seen.includes(t.id), 'other agent does not see the task');
    expectError(await U.other.c.patch(`/api/v1/tasks/${t.id}`, { status: 'done' }), 404, 'not_found');
  });
});
