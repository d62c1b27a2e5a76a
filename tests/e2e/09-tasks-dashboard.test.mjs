// 09-tasks-dashboard: tasks (create, defaults, list filters, PATCH status) and the dashboard counts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, addUser, login, client, expectStatus, expectError, isoNow, DAY, HOUR, FILE_TIMEOUT_MS, walk,
} from './lib.mjs';

let w;
let admin;
let agent;
let agent2;
before(async () => { w = await startWorld(); ({ admin, agent, agent2 } = w.users); });
after(async () => { if (w) await w.srv.stop(); });

const ids = async (c, q) => (await walk(c, `/api/v1/tasks${q ? `?${q}` : ''}`, 500)).map((t) => t.id).sort((a, b) => a - b);
const sorted = (a) => [...a].sort((x, y) => x - y);

describe('tasks', { timeout: FILE_TIMEOUT_MS }, () => {
  const T = {};
  let leadA;
  let leadB;
  before(async () => {
    leadA = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Task Lead A', owner_id: agent.id }), 201);
    leadB = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Task Lead B', owner_id: agent.id }), 201);
  });

  it('POST /leads/{id}/tasks creates an open task (201) assigned to the lead owner by default', async () => {
    const due = isoNow(2 * DAY);
    const r = await admin.c.post(`/api/v1/leads/${leadA.id}/tasks`, { type: 'call', title: 'Call back', due_at: due, notes: 'ask about budget' });
    const t = expectStatus(r, 201);
    assert.equal(typeof t.id, 'number');
    assert.equal(t.lead_id, leadA.id);
    assert.equal(t.type, 'call');
    assert.equal(t.title, 'Call back');
    assert.equal(t.due_at, due);
    assert.equal(t.notes, 'ask about budget');
    assert.equal(t.assignee_id, agent.id, 'assignee defaults to the lead owner, not the creator');
    assert.equal(t.status, 'open');
    assert.equal(t.version, 1);
    assert.equal(t.completed_at, null);
    assert.equal(t.completed_by, null);
    T.a = t;
  });

  it('an explicit assignee_id is kept; a wrong-typed title, a bad due_at or an unknown assignee answers 422', async () => {
    T.b = expectStatus(await admin.c.post(`/api/v1/leads/${leadA.id}/tasks`,
      { type: 'email', title: 'Send brochure', due_at: isoNow(-1 * DAY), assignee_id: agent2.id }), 201);
    assert.equal(T.b.assignee_id, agent2.id);
    T.c = expectStatus(await admin.c.post(`/api/v1/leads/${leadB.id}/tasks`,
      { type: 'meeting', title: 'Site visit', due_at: isoNow(10 * DAY) }), 201);
    const e1 = expectError(await admin.c.post(`/api/v1/leads/${leadA.id}/tasks`, { type: 'call', title: 42, due_at: isoNow(DAY) }), 422, 'validation_failed');
    assert.ok('title' in e1.fields);
    const e2 = expectError(await admin.c.post(`/api/v1/leads/${leadA.id}/tasks`, { type: 'call', title: 'x', due_at: 'tomorrow' }), 422, 'validation_failed');
    assert.ok('due_at' in e2.fields);
    const e3 = expectError(await admin.c.post(`/api/v1/leads/${leadA.id}/tasks`,
      { type: 'call', title: 'x', due_at: isoNow(DAY), assignee_id: 999999 }), 422, 'validation_failed');
    assert.ok('assignee_id' in e3.fields);
  });

  it('task creation is recorded in the lead timeline as task_created', async () => {
    const tl = await walk(admin.c, `/api/v1/leads/${leadA.id}/timeline`, 500);
    assert.ok(tl.filter((e) => e.kind === 'task_created').length >= 2);
  });

  it('GET /tasks defaults to my open tasks; assignee=me|any|<id>; lead=', async () => {
    assert.deepEqual(await ids(agent.c, ''), sorted([T.a.id, T.c.id]), "agent's default list");
    assert.deepEqual(await ids(agent2.c, ''), [T.b.id]);
    assert.deepEqual(await ids(admin.c, ''), [], 'admin has no tasks of its own');
    assert.deepEqual(await ids(admin.c, 'assignee=any'), sorted([T.a.id, T.b.id, T.c.id]));
    assert.deepEqual(await ids(admin.c, `assignee=${agent2.id}`), [T.b.id]);
    assert.deepEqual(await ids(admin.c, `assignee=any&lead=${leadB.id}`), [T.c.id]);
    assert.deepEqual(await ids(admin.c, `assignee=any&lead=${leadA.id}`), sorted([T.a.id, T.b.id]));
  });

  it('due_from / due_to bound due_at', async () => {
    assert.deepEqual(await ids(admin.c, `assignee=any&due_to=${isoNow(0)}`), [T.b.id], 'overdue');
    assert.deepEqual(await ids(admin.c, `assignee=any&due_from=${isoNow(0)}&due_to=${isoNow(5 * DAY)}`), [T.a.id]);
    assert.deepEqual(await ids(admin.c, `assignee=any&due_from=${isoNow(5 * DAY)}`), [T.c.id]);
  });

  it('PATCH status done sets completed_at/completed_by, bumps version, leaves the open list, records task_done', async () => {
    const r = await agent.c.patch(`/api/v1/tasks/${T.a.id}`, { status: 'done' });
    const t = expectStatus(r, 200);
    assert.equal(t.status, 'done');
    assert.ok(t.completed_at && Math.abs(Date.parse(t.completed_at) - Date.now()) < 120_000, 'completed_at now');
    assert.equal(t.completed_by, agent.id);
    assert.equal(t.version, 2);
    assert.deepEqual(await ids(agent.c, ''), [T.c.id], 'no longer in the open list');
    assert.deepEqual(await ids(agent.c, 'status=done'), [T.a.id]);
    const tl = await walk(admin.c, `/api/v1/leads/${leadA.id}/timeline`, 500);
    assert.ok(tl.some((e) => e.kind === 'task_done'), 'timeline task_done');
  });

  it('PATCH status cancelled sets completed_at/by too; status=all lists every state; reopening clears them', async () => {
    const t = expectStatus(await agent2.c.patch(`/api/v1/tasks/${T.b.id}`, { status: 'cancelled' }), 200);
    assert.equal(t.status, 'cancelled');
    assert.ok(t.completed_at);
    assert.equal(t.completed_by, agent2.id);
    assert.deepEqual(await ids(admin.c, 'assignee=any&status=cancelled'), [T.b.id]);
    assert.deepEqual(await ids(admin.c, 'assignee=any&status=all'), sorted([T.a.id, T.b.id, T.c.id]));
    const o = expectStatus(await agent2.c.patch(`/api/v1/tasks/${T.b.id}`, { status: 'open' }), 200);
    assert.equal(o.status, 'open');
    assert.equal(o.completed_at, null);
    assert.equal(o.completed_by, null);
  });

  it('PATCH due_at/title/notes/assignee_id; If-Match stale answers 412; a bad status answers 422', async () => {
    const due = isoNow(3 * DAY);
    const t = expectStatus(await admin.c.patch(`/api/v1/tasks/${T.c.id}`,
      { due_at: due, title: 'Site visit (moved)', notes: 'bring samples', assignee_id: agent2.id }), 200);
    assert.equal(t.due_at, due);
    assert.equal(t.title, 'Site visit (moved)');
    assert.equal(t.notes, 'bring samples');
    assert.equal(t.assignee_id, agent2.id);
    expectError(await admin.c.patch(`/api/v1/tasks/${T.c.id}`, { title: 'stale' }, { headers: { 'If-Match': '1' } }),
      412, 'version_mismatch');
    const e = expectError(await admin.c.patch(`/api/v1/tasks/${T.c.id}`, { status: 'maybe' }), 422, 'validation_failed');
    assert.ok('status' in e.fields);
    const list = await walk(admin.c, `/api/v1/tasks?assignee=any&lead=${leadB.id}`, 500);
    assert.equal(list[0].title, 'Site visit (moved)', 'stale and invalid patches changed nothing');
  });
});

describe('dashboard', { timeout: FILE_TIMEOUT_MS }, () => {
  it('counts my open leads, follow-ups (due within ±3 days), overdue tasks and SLA states', async () => {
    // A fresh agent so the counts are exact.
    await addUser(w.srv, { email: 'dash@e2e.test', name: 'Dash Agent', role: 'agent' });
    const l = await login(w.srv, 'dash@e2e.test');
    const c = client(w.srv, l.token);
    const d0 = expectStatus(await c.get('/api/v1/dashboard'), 200);
    for (const k of ['open_leads', 'follow_ups', 'overdue', 'sla_warning', 'sla_breached', 'pending_approvals', 'unread_notifications']) {
      assert.equal(typeof d0[k], 'number', `dashboard.${k} is a number`);
    }
    assert.equal(d0.open_leads, 0);
    assert.equal(d0.overdue, 0);

    const mk = async (body) => expectStatus(await admin.c.post('/api/v1/leads', { owner_id: l.user.id, ...body }), 201);
    const fresh = await mk({ full_name: 'Dash Fresh' });
    await mk({ full_name: 'Dash Warn', created_at: isoNow(-10 * DAY) });
    await mk({ full_name: 'Dash Breach', created_at: isoNow(-45 * DAY) });
    const closed = await mk({ full_name: 'Dash Closed' });
    expectStatus(await admin.c.post(`/api/v1/leads/${closed.id}/close`, { outcome: 'treated' }), 200);
    const task = (due) => admin.c.post(`/api/v1/leads/${fresh.id}/tasks`, { type: 'call', title: 'T', due_at: due });
    expectStatus(await task(isoNow(-5 * DAY)), 201);      // overdue, outside the follow-up window
    expectStatus(await task(isoNow(-1 * DAY)), 201);      // overdue, inside the window
    expectStatus(await task(isoNow(2 * DAY)), 201);       // inside the window
    expectStatus(await task(isoNow(20 * DAY)), 201);      // far future
    const done = expectStatus(await task(isoNow(-2 * HOUR)), 201);
    expectStatus(await admin.c.patch(`/api/v1/tasks/${done.id}`, { status: 'done' }), 200); // done: counts nowhere

    const d = expectStatus(await c.get('/api/v1/dashboard'), 200);
    assert.equal(d.open_leads, 3, 'open leads (closed one excluded)');
    assert.equal(d.overdue, 2, 'open tasks past due');
    assert.equal(d.follow_ups, 2, 'open tasks due within now ± 3 days');
    assert.equal(d.sla_warning, 1);
    assert.equal(d.sla_breached, 1);
    assert.equal(d.pending_approvals, 0);
  });
});
