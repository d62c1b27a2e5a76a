// 20-tokens-roles: API tokens (made, used, listed, revoked), role policies changing what a
// close does (deny → 403, request → 202 approval, notify managers), and notifications.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, request, expectStatus, expectError, items, FILE_TIMEOUT_MS, byName } from './lib.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { if (w) await w.srv.stop(); });

const lost = async (c) => byName(items(await c.get('/api/v1/lost-reasons')), 'Price').id;

describe('API tokens', { timeout: FILE_TIMEOUT_MS }, () => {
  it('a token is shown once, authenticates requests, is listed without its secret, and stops working when revoked', async () => {
    const { agent } = w.users;
    const made = expectStatus(await agent.c.post('/api/v1/tokens', { name: 'zapier' }), 201, 'create token');
    assert.match(made.token, /^[0-9a-f]{64}$/);
    const me = expectStatus(await request(w.srv, 'GET', '/api/v1/me', { token: made.token }), 200, 'me with api token');
    assert.equal(me.user.id, agent.id);
    const list = items(await agent.c.get('/api/v1/tokens'));
    const row = list.find((t) => t.id === made.id);
    assert.ok(row, 'listed');
    assert.equal(row.name, 'zapier');
    assert.equal(row.token, undefined, 'the secret is never listed again');
    expectStatus(await agent.c.del(`/api/v1/tokens/${made.id}`), 204, 'revoke');
    expectError(await request(w.srv, 'GET', '/api/v1/me', { token: made.token }), 401, 'unauthorized');
  });

  it('a token needs a name; another user cannot revoke it', async () => {
    const { agent, other } = w.users;
    expectError(await agent.c.post('/api/v1/tokens', {}), 422, 'validation_failed');
    const made = expectStatus(await agent.c.post('/api/v1/tokens', { name: 'mine' }), 201);
    expectError(await other.c.del(`/api/v1/tokens/${made.id}`), 404, 'not_found');
    expectStatus(await request(w.srv, 'GET', '/api/v1/me', { token: made.token }), 200, 'still valid');
  });
});

describe('role policies on closing', { timeout: FILE_TIMEOUT_MS }, () => {
  it('deny answers 403 and changes nothing; the transitions list says so', async () => {
    const { admin, agent } = w.users;
    const roles = items(await admin.c.get('/api/v1/roles'));
    const role = roles.find((r) => r.name === 'agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_won: 'deny' } }), 200, 'set deny');
    try {
      const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Denied Dan' }), 201);
      expectError(await agent.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'won' }), 403, 'forbidden');
      const after = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
      assert.equal(after.status, 'open');
      const tr = items(await agent.c.get(`/api/v1/leads/${lead.id}/transitions`));
      assert.equal(tr.find((t) => t.kind === 'close' && t.outcome === 'won').allowed, false);
      assert.equal(tr.find((t) => t.kind === 'close' && t.outcome === 'lost').allowed, true);
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_won: 'allow' } }), 200, 'restore');
    }
  });

  it('request answers 202 with a pending approval; the lead stays open and the timeline records the request', async () => {
    const { admin, agent, manager } = w.users;
    const role = items(await admin.c.get('/api/v1/roles')).find((r) => r.name === 'agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'request' } }), 200);
    try {
      const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Approval Ann' }), 201);
      const reason = await lost(agent.c);
      const r = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'lost', reason_id: reason }), 202);
      assert.equal(r.approval.status, 'pending');
      assert.equal(r.approval.action, 'close');
      assert.equal(r.approval.lead_id, lead.id);
      assert.equal(r.approval.approver_id, manager.id);
      assert.equal(r.approval.params.reason_id, reason);
      const after = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
      assert.equal(after.status, 'open');
      const kinds = items(await agent.c.get(`/api/v1/leads/${lead.id}/timeline`)).map((e) => e.kind);
      assert.ok(kinds.includes('approval_requested'));
      assert.ok(!kinds.includes('closed'));
      const dash = expectStatus(await manager.c.get('/api/v1/dashboard'), 200);
      assert.ok(dash.pending_approvals >= 1);
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'allow' } }), 200);
    }
  });

  it('approving carries out the close as asked; declining leaves the lead open; each is decided once', async () => {
    const { admin, agent, manager, other } = w.users;
    const role = items(await admin.c.get('/api/v1/roles')).find((r) => r.name === 'agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'request' } }), 200);
    try {
      const reason = await lost(agent.c);
      const a = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Approve Me' }), 201);
      const b = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Decline Me' }), 201);
      const ra = expectStatus(await agent.c.post(`/api/v1/leads/${a.id}/close`, { outcome: 'lost', reason_id: reason, notes: 'too dear' }), 202);
      const rb = expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/close`, { outcome: 'lost', reason_id: reason }), 202);
      const pending = items(await manager.c.get('/api/v1/approvals?status=pending')).map((x) => x.id);
      assert.ok(pending.includes(ra.approval.id) && pending.includes(rb.approval.id), 'the manager sees both requests');
      assert.ok(items(await manager.c.get('/api/v1/notifications?unread=1')).some((n) => n.kind === 'approval_requested' && n.lead_id === a.id));
      expectError(await agent.c.post(`/api/v1/approvals/${ra.approval.id}/approve`, {}), 403, 'forbidden');
      expectError(await other.c.post(`/api/v1/approvals/${ra.approval.id}/approve`, {}), 404, 'not_found');

      const ok = expectStatus(await manager.c.post(`/api/v1/approvals/${ra.approval.id}/approve`, {}), 200);
      assert.equal(ok.status, 'approved');
      assert.equal(ok.decided_by, manager.id);
      const closed = expectStatus(await agent.c.get(`/api/v1/leads/${a.id}`), 200);
      assert.equal(closed.status, 'closed');
      assert.equal(closed.outcome, 'lost');
      assert.equal(closed.lost_reason_id, reason);
      assert.equal(closed.close_notes, 'too dear');
      assert.equal(closed.closed_by, agent.id, 'carried out as the requester asked');
      const kinds = items(await agent.c.get(`/api/v1/leads/${a.id}/timeline`)).map((e) => e.kind);
      assert.ok(kinds.includes('closed') && kinds.includes('approval_decided'));
      expectError(await manager.c.post(`/api/v1/approvals/${ra.approval.id}/approve`, {}), 409, 'conflict');

      const no = expectStatus(await manager.c.post(`/api/v1/approvals/${rb.approval.id}/decline`, { note: 'keep trying' }), 200);
      assert.equal(no.status, 'declined');
      assert.equal(no.note, 'keep trying');
      assert.equal(expectStatus(await agent.c.get(`/api/v1/leads/${b.id}`), 200).status, 'open');
      assert.ok(items(await agent.c.get('/api/v1/notifications?unread=1')).some((n) => n.kind === 'approval_declined' && n.lead_id === b.id));
      expectError(await manager.c.post(`/api/v1/approvals/${rb.approval.id}/approve`, {}), 409, 'conflict');
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'allow' } }), 200);
    }
  });

  it('notify_managers_on_close_lost gives the manager a notification they can read', async () => {
    const { admin, agent, manager } = w.users;
    const role = items(await admin.c.get('/api/v1/roles')).find((r) => r.name === 'agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { notify_managers_on_close_lost: true } }), 200);
    try {
      const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Noted Nora' }), 201);
      expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'lost', reason_id: await lost(agent.c) }), 200);
      const unread = items(await manager.c.get('/api/v1/notifications?unread=1'));
      const n = unread.find((x) => x.lead_id === lead.id);
      assert.ok(n, 'manager notified');
      assert.equal(n.kind, 'lead_closed_lost');
      assert.equal(n.read, false);
      expectStatus(await manager.c.post(`/api/v1/notifications/${n.id}/read`, {}), 200);
      assert.ok(!items(await manager.c.get('/api/v1/notifications?unread=1')).some((x) => x.id === n.id));
      expectError(await agent.c.post(`/api/v1/notifications/${n.id}/read`, {}), 404, 'not_found');
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { notify_managers_on_close_lost: false } }), 200);
    }
  });

  it('a bad policy patch answers 422 naming the key; only admins change roles', async () => {
    const { admin, manager } = w.users;
    const role = items(await admin.c.get('/api/v1/roles')).find((r) => r.name === 'agent');
    const e = expectError(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_won: 'maybe' } }), 422, 'validation_failed');
    assert.ok('close_won' in e.fields);
    expectError(await manager.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_won: 'deny' } }), 403, 'forbidden');
  });
});
