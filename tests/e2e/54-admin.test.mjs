// 54-admin: running the team through the API (docs/admin.md) — /me says what the caller may do;
// an admin changes a user's role and manager (If-Match), deactivates a user (their sessions and
// tokens stop, their open leads and tasks go to the chosen person with an event each, their
// reports move up), reactivates them; new roles with every policy key; company settings checked
// by the server; approvals named in words, one request at a time, the decision and its note
// reaching the agent.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, addUser, login, client, request, expectStatus, expectError, items, byName, u, isoNow, DAY,
  FILE_TIMEOUT_MS, assertTimestamps } from './lib.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { if (w) await w.srv.stop(); });

const roleId = async (name) => items(await w.users.admin.c.get('/api/v1/roles')).find((r) => r.name === name).id;

describe('/me says what the caller may do', { timeout: FILE_TIMEOUT_MS }, () => {
  it('an agent: own view, no bulk or delete, only itself in people; a manager: its team; an admin: everyone', async () => {
    const { admin, manager, agent, agent2, other } = w.users;
    const a = expectStatus(await agent.c.get('/api/v1/me'), 200).can;
    assert.equal(a.view, 'own');
    assert.equal(a.bulk, 'deny');
    assert.equal(a.delete, 'deny');
    assert.equal(a.close_lost, 'allow');
    assert.deepEqual(a.people, [agent.id]);
    assert.equal(a.manage_users, false);
    assert.equal(a.approve, false);
    const m = expectStatus(await manager.c.get('/api/v1/me'), 200).can;
    assert.equal(m.view, 'team');
    assert.equal(m.bulk, 'allow');
    assert.deepEqual(m.people.slice().sort((x, y) => x - y), [manager.id, agent.id, agent2.id].sort((x, y) => x - y));
    assert.ok(!m.people.includes(other.id));
    assert.equal(m.approve, true);
    const ad = expectStatus(await admin.c.get('/api/v1/me'), 200).can;
    assert.equal(ad.view, 'all');
    assert.equal(ad.manage_users, true);
    assert.ok(ad.people.includes(other.id));
  });

  it('a policy change shows in /me at once', async () => {
    const { admin, agent } = w.users;
    const id = await roleId('agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${id}`, { policy: { bulk: 'allow' } }), 200);
    try {
      assert.equal(expectStatus(await agent.c.get('/api/v1/me'), 200).can.bulk, 'allow');
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${id}`, { policy: { bulk: 'deny' } }), 200);
    }
    assert.equal(expectStatus(await agent.c.get('/api/v1/me'), 200).can.bulk, 'deny');
  });
});

describe('users', { timeout: FILE_TIMEOUT_MS }, () => {
  it('an admin changes role and manager with If-Match; a stale version is 412; others get 403', async () => {
    const { admin, manager, agent } = w.users;
    const email = `${u('pat')}@e2e.test`;
    const made = expectStatus(await admin.c.post('/api/v1/users', { email, name: 'Pat Patch', role: 'agent', password: 'long-enough-1' }), 201);
    assert.equal(made.version, 1);
    expectError(await agent.c.patch(`/api/v1/users/${made.id}`, { name: 'x' }), 403, 'forbidden');
    const ch = expectStatus(await admin.c.patch(`/api/v1/users/${made.id}`, { role: 'manager', manager_id: manager.id },
      { headers: { 'If-Match': String(made.version) } }), 200);
    assert.equal(ch.role, 'manager');
    assert.equal(ch.manager_id, manager.id);
    assert.equal(ch.version, 2);
    expectError(await admin.c.patch(`/api/v1/users/${made.id}`, { name: 'Late' }, { headers: { 'If-Match': '1' } }), 412, 'version_mismatch');
    const bad = expectError(await admin.c.patch(`/api/v1/users/${made.id}`, { role: 'nope', manager_id: made.id }), 422, 'validation_failed');
    assert.ok(bad.fields.role && bad.fields.manager_id, JSON.stringify(bad.fields));
    // a loop: the manager cannot report to someone who reports to them
    const loop = expectError(await admin.c.patch(`/api/v1/users/${manager.id}`, { manager_id: made.id }), 422, 'validation_failed');
    assert.ok(loop.fields.manager_id);
    const ev = items(await admin.c.get('/api/v1/events?after=0&limit=500')).filter((e) => e.kind === 'user_updated' && e.entity_id === made.id);
    assert.equal(ev.length, 1);
    assert.deepEqual(ev[0].data.changes.role, { old: 'agent', new: 'manager' });
  });

  it('the last active admin cannot lose the role or leave', async () => {
    const { admin } = w.users;
    expectError(await admin.c.patch(`/api/v1/users/${admin.id}`, { role: 'agent' }), 409, 'conflict');
    expectError(await admin.c.post(`/api/v1/users/${admin.id}/deactivate`, {}), 403, 'forbidden');
  });

  it('deactivating moves open leads (through the planner: an updated event each) and tasks, ends sessions and tokens; reactivating lets them in again', async () => {
    const { admin, manager } = w.users;
    const email = `${u('leaver')}@e2e.test`;
    const leaverId = await addUser(w.srv, { email, name: 'Lee Leaver', role: 'manager' });
    const reportEmail = `${u('rep')}@e2e.test`;
    const reportId = await addUser(w.srv, { email: reportEmail, name: 'Rita Report', role: 'agent', manager: email });
    expectStatus(await admin.c.patch(`/api/v1/users/${leaverId}`, { manager_id: manager.id }), 200);
    const s = await login(w.srv, email);
    const lc = client(w.srv, s.token);
    const tok = expectStatus(await lc.post('/api/v1/tokens', { name: 'script' }), 201).token;
    const l1 = expectStatus(await lc.post('/api/v1/leads', { full_name: 'Open One' }), 201);
    const l2 = expectStatus(await lc.post('/api/v1/leads', { full_name: 'Open Two' }), 201);
    const l3 = expectStatus(await lc.post('/api/v1/leads', { full_name: 'Closed Three' }), 201);
    expectStatus(await lc.post(`/api/v1/leads/${l3.id}/close`, { outcome: 'won' }), 200);
    const t1 = expectStatus(await lc.post(`/api/v1/leads/${l1.id}/tasks`, { title: 'Call back', due_at: isoNow(DAY) }), 201);
    // what would move, changing nothing
    const dry = expectStatus(await admin.c.post(`/api/v1/users/${leaverId}/deactivate?dry_run=1`, {}), 200);
    assert.deepEqual({ ...dry.moves, sessions: 0 }, { open_leads: 2, open_tasks: 1, reports: 1, pending_approvals: 0, sessions: 0 });
    assert.ok(dry.moves.sessions >= 2, 'the session and the token');
    expectStatus(await request(w.srv, 'GET', '/api/v1/me', { token: s.token }), 200, 'still in after the dry run');
    // the person to take over is required, and must be another active user
    const need = expectError(await admin.c.post(`/api/v1/users/${leaverId}/deactivate`, {}), 422, 'validation_failed');
    assert.match(need.fields.reassign_to, /2 open leads and 1 open tasks/);
    expectError(await admin.c.post(`/api/v1/users/${leaverId}/deactivate`, { reassign_to: leaverId }), 422, 'validation_failed');
    const done = expectStatus(await admin.c.post(`/api/v1/users/${leaverId}/deactivate`, { reassign_to: manager.id }), 200);
    assert.equal(done.user.active, false);
    assert.equal(done.moved.open_leads, 2);
    assert.equal(done.moved.open_tasks, 1);
    assert.equal(done.moved.reports, 1);
    // sessions and tokens stop at once; the password no longer logs in
    expectError(await request(w.srv, 'GET', '/api/v1/me', { token: s.token }), 401, 'unauthorized');
    expectError(await request(w.srv, 'GET', '/api/v1/me', { token: tok }), 401, 'unauthorized');
    expectError(await request(w.srv, 'POST', '/api/v1/auth/login', { body: { email, password: 'correct-horse-9' } }), 401, 'unauthorized');
    for (const l of [l1, l2]) {
      const got = expectStatus(await admin.c.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(got.owner_id, manager.id);
      const upd = items(await admin.c.get(`/api/v1/leads/${l.id}/timeline`)).filter((e) => e.kind === 'updated');
      assert.equal(upd.length, 1, 'one updated event from the applier');
      assert.deepEqual(upd[0].data.changes.owner_id, { old: leaverId, new: manager.id });
    }
    assert.equal(expectStatus(await admin.c.get(`/api/v1/leads/${l3.id}`), 200).owner_id, leaverId, 'closed leads keep their owner');
    const task = expectStatus(await admin.c.get(`/api/v1/tasks/${t1.id}`), 200);
    assert.equal(task.assignee_id, manager.id);
    const tev = items(await admin.c.get(`/api/v1/leads/${l1.id}/timeline`)).find((e) => e.kind === 'task_updated');
    assert.deepEqual(tev.data.changes.assignee_id, { old: leaverId, new: manager.id });
    assert.equal(expectStatus(await admin.c.get(`/api/v1/users/${reportId}`), 200).manager_id, manager.id, 'reports move to the leaver\'s manager');
    expectError(await admin.c.post(`/api/v1/users/${leaverId}/deactivate`, { reassign_to: manager.id }), 409, 'conflict');
    // back again: a new login works, the old token stays revoked
    const back = expectStatus(await admin.c.post(`/api/v1/users/${leaverId}/reactivate`, {}), 200);
    assert.equal(back.active, true);
    await login(w.srv, email);
    expectError(await request(w.srv, 'GET', '/api/v1/me', { token: tok }), 401, 'unauthorized');
    expectError(await admin.c.post(`/api/v1/users/${leaverId}/reactivate`, {}), 409, 'conflict');
    const kinds = items(await admin.c.get('/api/v1/events?after=0&limit=500')).filter((e) => e.entity === 'user' && e.entity_id === leaverId).map((e) => e.kind);
    assert.ok(kinds.includes('user_deactivated') && kinds.includes('user_reactivated'), kinds.join());
  });
});

describe('roles', { timeout: FILE_TIMEOUT_MS }, () => {
  it('a new role copies a policy, takes every key, and users can be given it', async () => {
    const { admin, agent } = w.users;
    const name = `Senior ${u('r')}`;
    expectError(await agent.c.post('/api/v1/roles', { name }), 403, 'forbidden');
    const bad = expectError(await admin.c.post('/api/v1/roles', { name, policy: { bulk: 'maybe', 'leads.view': 'world', nope: 1 } }), 422, 'validation_failed');
    assert.deepEqual(Object.keys(bad.fields).sort(), ['bulk', 'leads.view', 'nope']);
    const role = expectStatus(await admin.c.post('/api/v1/roles', { name, copy_from: await roleId('agent'),
      policy: { 'leads.view': 'team', bulk: 'allow', close_lost: 'request', notify_managers_on_close_lost: true, close_lost_required: ['reason_id', 'notes'] } }), 201);
    assert.equal(role.builtin, false);
    assert.equal(role.policy['leads.view'], 'team');
    assert.equal(role.policy.delete, 'deny', 'copied from agent');
    assert.equal(role.policy.convert, 'allow');
    assert.deepEqual(role.policy.close_lost_required, ['reason_id', 'notes']);
    expectStatus(await admin.c.get(`/api/v1/roles/${role.id}`), 200);
    expectError(await admin.c.get('/api/v1/roles/99999'), 404, 'not_found');
    expectError(await admin.c.post('/api/v1/roles', { name: name.toUpperCase() }), 409, 'conflict');
    const email = `${u('sr')}@e2e.test`;
    const usr = expectStatus(await admin.c.post('/api/v1/users', { email, name: 'Sam Senior', role: name, password: 'long-enough-1' }), 201);
    const s = await login(w.srv, email, 'long-enough-1');
    const can = expectStatus(await request(w.srv, 'GET', '/api/v1/me', { token: s.token }), 200).can;
    assert.equal(can.view, 'team');
    assert.equal(can.close_lost, 'request');
    assert.deepEqual(can.close_lost_required, ['reason_id', 'notes']);
    assert.equal(usr.role, name);
  });
});

describe('company settings', { timeout: FILE_TIMEOUT_MS }, () => {
  it('country, time zone, escalation hours and SLA days are checked by the server and change nothing when bad', async () => {
    const { admin, manager } = w.users;
    expectError(await manager.c.patch('/api/v1/settings', { default_country: 'GB' }), 403, 'forbidden');
    const bad = expectError(await admin.c.patch('/api/v1/settings', { default_country: 'XX', time_zone: 'Mars/Olympus',
      approval_escalation_hours: -1 }), 422, 'validation_failed');
    assert.deepEqual(Object.keys(bad.fields).sort(), ['approval_escalation_hours', 'default_country', 'time_zone']);
    expectError(await admin.c.patch('/api/v1/settings', { time_zone: '../../etc/passwd' }), 422, 'validation_failed');
    expectError(await admin.c.patch('/api/v1/settings', { sla_warning_days: 10, sla_breach_days: 10 }), 422, 'validation_failed');
    const s = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    assert.notEqual(s.default_country, 'XX');
    const ok = expectStatus(await admin.c.patch('/api/v1/settings', { default_country: 'gb', time_zone: 'Europe/London',
      approval_escalation_hours: 12, sla_warning_days: 4, sla_breach_days: 20 }), 200);
    assert.equal(ok.default_country, 'GB', 'stored in capitals');
    assert.equal(ok.time_zone, 'Europe/London');
    assert.equal(ok.approval_escalation_hours, 12);
    expectStatus(await admin.c.patch('/api/v1/settings', { time_zone: 'UTC', default_country: '' }), 200, 'UTC and an unset country');
  });
});

describe('approvals a person can act on', { timeout: FILE_TIMEOUT_MS }, () => {
  it('the inbox names lead, requester, outcome, reason, notes, follow-up and tasks; one request at a time; a decline note reaches the agent', async () => {
    const { admin, agent, manager, agent2 } = w.users;
    const id = await roleId('agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${id}`, { policy: { close_lost: 'request' } }), 200);
    try {
      const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Quinn Request' }), 201);
      expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/tasks`, { title: 'Overdue call', due_at: isoNow(-DAY) }), 201);
      expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/tasks`, { title: 'Later visit', due_at: isoNow(3 * DAY) }), 201);
      const reason = byName(items(await agent.c.get('/api/v1/lost-reasons')), 'Price');
      const body = { outcome: 'lost', reason_id: reason.id, notes: 'Went with a cheaper offer', follow_up: { due_at: isoNow(30 * DAY), title: 'Try again' } };
      expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/close`, body), 202);
      // a second request is refused clearly and writes nothing
      const again = expectError(await agent.c.post(`/api/v1/leads/${lead.id}/close`, body), 409, 'conflict');
      assert.match(again.message, /already waiting for approval/);
      const inbox = items(await manager.c.get('/api/v1/approvals?status=pending'));
      const ap = inbox.find((x) => x.lead_id === lead.id);
      assertTimestamps(ap);
      assert.equal(ap.lead_name, 'Quinn Request');
      assert.equal(ap.requested_by_name, agent.name);
      assert.equal(ap.outcome_name, 'Lost');
      assert.equal(ap.outcome_kind, 'lost');
      assert.equal(ap.reason_name, 'Price');
      assert.equal(ap.params.notes, 'Went with a cheaper offer');
      assert.equal(ap.params.follow_up.title, 'Try again');
      assert.equal(ap.open_tasks.length, 2);
      assert.equal(ap.overdue_tasks, 1);
      assert.equal(ap.open_tasks.find((t) => t.overdue).title, 'Overdue call');
      assert.equal(ap.can_decide, true);
      assert.equal(inbox.filter((x) => x.lead_id === lead.id).length, 1, 'one request');
      // the lead's own list: for whoever sees the lead; not for someone who does not
      const byLead = items(await agent.c.get(`/api/v1/approvals?lead=${lead.id}`));
      assert.equal(byLead.length, 1);
      assert.equal(byLead[0].can_decide, false, 'nobody decides their own request');
      expectError(await agent2.c.get(`/api/v1/approvals?lead=${lead.id}`), 404, 'not_found');
      const mine = items(await agent.c.get('/api/v1/approvals?status=all&mine=1'));
      assert.ok(mine.every((x) => x.requested_by === agent.id) && mine.some((x) => x.id === ap.id));
      assert.equal(items(await manager.c.get('/api/v1/approvals?status=all&mine=1')).filter((x) => x.id === ap.id).length, 0);
      // declined with a note: on the timeline and in the agent's notification, in words
      const note = 'call them again next week';
      const d = expectStatus(await manager.c.post(`/api/v1/approvals/${ap.id}/decline`, { note }), 200);
      assert.equal(d.status, 'declined');
      const ev = items(await agent.c.get(`/api/v1/leads/${lead.id}/timeline`)).find((e) => e.kind === 'approval_decided');
      assert.equal(ev.data.decision, 'declined');
      assert.equal(ev.data.note, note);
      assert.equal(ev.data.decided_by_name, manager.name);
      assert.equal(ev.data.outcome_name, 'Lost');
      const n = items(await agent.c.get('/api/v1/notifications')).find((x) => x.kind === 'approval_declined' && x.data.approval_id === ap.id);
      assert.equal(n.data.note, note);
      assert.equal(n.data.decided_by_name, manager.name);
      assert.equal(n.data.full_name, 'Quinn Request');
      // the request-notification named the lead and the outcome too
      const asked = items(await manager.c.get('/api/v1/notifications')).find((x) => x.kind === 'approval_requested' && x.data.approval_id === ap.id);
      assert.equal(asked.data.full_name, 'Quinn Request');
      assert.equal(asked.data.requested_by_name, agent.name);
      // once decided, the agent may ask again
      const again2 = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/close`, body), 202);
      expectStatus(await manager.c.post(`/api/v1/approvals/${again2.approval.id}/approve`, {}), 200);
      assert.equal(expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200).status, 'closed');
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${id}`, { policy: { close_lost: 'allow' } }), 200);
    }
  });
});
