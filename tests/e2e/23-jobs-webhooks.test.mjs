// 23-jobs-webhooks: background work. Webhooks (admin-managed) receive each subscribed event once,
// signed with HMAC-SHA256, retried after a failure under the same delivery id; task reminders
// reach the assignee once; bulk actions over more than 1,000 leads run as a job with progress.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorld, expectStatus, expectError, items, sleep, receiver, until, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
let rx;
before(async () => {
  w = await startWorld({ args: ['--sweep-seconds', '1'] });
  rx = await receiver({ fail: 1 });
});
after(async () => {
  if (w) await w.srv.stop();
  if (rx) await rx.close();
});

const sign = (secret, raw) => crypto.createHmac('sha256', secret).update(raw).digest('hex');

describe('webhooks', { timeout: FILE_TIMEOUT_MS }, () => {
  let hook;
  const secret = 'a-shared-secret-of-some-length';

  it('an admin subscribes; others may not; bad input is refused field by field and stores nothing', async () => {
    const { admin, manager } = w.users;
    expectError(await manager.c.post('/api/v1/webhooks', { url: rx.url }), 403, 'forbidden');
    expectError(await manager.c.get('/api/v1/webhooks'), 403, 'forbidden');
    const e = expectError(await admin.c.post('/api/v1/webhooks', { url: 'ftp://example.test/x', events: ['Created!'], secret: 'short' }), 422, 'validation_failed');
    assert.deepEqual(Object.keys(e.fields).sort(), ['events', 'secret', 'url']);
    expectError(await admin.c.post('/api/v1/webhooks', { events: ['created'] }), 422, 'validation_failed');
    assert.equal(items(await admin.c.get('/api/v1/webhooks')).length, 0, 'nothing stored by refused requests');
    hook = expectStatus(await admin.c.post('/api/v1/webhooks', { url: rx.url, events: ['created', 'closed'], secret }), 201);
    assert.deepEqual(hook.events, ['created', 'closed']);
    assert.equal(hook.secret, secret, 'the secret is shown when the webhook is made');
    assert.equal(hook.active, true);
    const listed = items(await admin.c.get('/api/v1/webhooks'));
    assert.equal(listed.length, 1);
    assert.equal(listed[0].secret, undefined, 'and never again');
    const gen = expectStatus(await admin.c.post('/api/v1/webhooks', { url: rx.url + '?second', active: false }), 201);
    assert.match(gen.secret, /^[0-9a-f]{64}$/, 'a secret is generated when none is given');
    assert.deepEqual(gen.events, ['*']);
    expectError(await admin.c.del(`/api/v1/webhooks/${gen.id}`, { headers: { 'If-Match': '"7"' } }), 412, 'version_mismatch');
    expectStatus(await admin.c.del(`/api/v1/webhooks/${gen.id}`), 204);
    expectError(await admin.c.get(`/api/v1/webhooks/${gen.id}`), 404, 'not_found');
    const ev = items(await admin.c.get('/api/v1/events?after=0&limit=200')).filter((x) => x.entity === 'webhook');
    assert.deepEqual(ev.map((x) => x.kind), ['webhook_created', 'webhook_created', 'webhook_deleted']);
    assert.ok(!JSON.stringify(ev).includes(secret), 'the audit trail never holds a secret');
  });

  it('subscribed events arrive signed, once each; a failed delivery is retried with the same delivery id', async () => {
    const { manager, admin } = w.users;
    const lead = expectStatus(await manager.c.post('/api/v1/leads', { full_name: 'Hooked Lead' }), 201);
    // not subscribed: a comment is not delivered
    expectStatus(await manager.c.post(`/api/v1/leads/${lead.id}/comments`, { body: 'quiet' }), 201);
    expectStatus(await manager.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'won' }), 200);
    const ok = (kind) => rx.got.filter((g) => g.body.kind === kind && g.body.lead_id === lead.id);
    // the receiver fails the very first delivery it gets: three requests for two events
    await until('both deliveries', () => ok('closed').length + ok('created').length >= 3);
    await sleep(300);
    const created = ok('created'), closed = ok('closed');
    assert.equal(created.length + closed.length, 3, 'each event once, plus one repeat of the failed one');
    const repeated = created.length === 2 ? created : closed;
    assert.equal(repeated.length, 2);
    assert.equal(repeated[0].headers['x-leadpath-delivery'], repeated[1].headers['x-leadpath-delivery'], 'a retry keeps its delivery id');
    assert.notEqual(created[0].headers['x-leadpath-delivery'], closed[0].headers['x-leadpath-delivery']);
    for (const g of rx.got) {
      assert.equal(g.headers['x-leadpath-signature'], sign(secret, g.raw), 'signature is HMAC-SHA256 of the body');
      assert.equal(g.headers['x-leadpath-event'], g.body.kind);
      assert.match(g.headers['x-leadpath-delivery'], /^\d+$/);
      assert.equal(g.headers['x-leadpath-webhook'], String(hook.id));
    }
    assert.equal(ok('comment').length, 0, 'unsubscribed kinds are not sent');
    assert.equal(created[0].body.data.full_name, 'Hooked Lead');
    const d = items(await admin.c.get(`/api/v1/webhooks/${hook.id}/deliveries`));
    const cd = d.find((x) => x.event_id === repeated[0].body.id);
    assert.equal(cd.status, 'done');
    assert.equal(cd.attempts, 2);
    assert.equal(cd.http_status, 200);
  });

  it('a paused webhook receives nothing; editing is audited and checks If-Match', async () => {
    const { admin, manager } = w.users;
    expectError(await admin.c.patch(`/api/v1/webhooks/${hook.id}`, { active: false }, { headers: { 'If-Match': '"99"' } }), 412, 'version_mismatch');
    const p = expectStatus(await admin.c.patch(`/api/v1/webhooks/${hook.id}`, { active: false }), 200);
    assert.equal(p.active, false);
    const before = rx.got.length;
    const lead = expectStatus(await manager.c.post('/api/v1/leads', { full_name: 'Unheard' }), 201);
    await sleep(1500);
    assert.equal(rx.got.filter((g) => g.body.lead_id === lead.id).length, 0);
    assert.equal(rx.got.length, before);
    const ev = items(await admin.c.get('/api/v1/events?after=0&limit=500')).filter((x) => x.kind === 'webhook_updated');
    assert.deepEqual(ev.at(-1).data.changes.active, { old: true, new: false });
  });
});

describe('task reminders', { timeout: FILE_TIMEOUT_MS }, () => {
  it('the assignee is notified once when a task falls due; a new due time reminds again', async () => {
    const { manager, agent } = w.users;
    const lead = expectStatus(await manager.c.post('/api/v1/leads', { full_name: 'Remind Me', owner_id: agent.id }), 201);
    const due = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const task = expectStatus(await manager.c.post(`/api/v1/leads/${lead.id}/tasks`, { title: 'Call back', due_at: due, assignee_id: agent.id }), 201);
    const mine = async () => items(await agent.c.get('/api/v1/notifications')).filter((n) => n.kind === 'task_due' && n.data.task_id === task.id);
    await until('a reminder', async () => (await mine()).length === 1);
    await sleep(2500);  // two more sweeps
    assert.equal((await mine()).length, 1, 'once per due time');
    const n = (await mine())[0];
    assert.equal(n.lead_id, lead.id);
    assert.equal(n.data.title, 'Call back');
    const later = new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    expectStatus(await agent.c.patch(`/api/v1/tasks/${task.id}`, { due_at: later }), 200);
    await until('a second reminder', async () => (await mine()).length === 2);
    // a done task is not reminded
    const t2 = expectStatus(await manager.c.post(`/api/v1/leads/${lead.id}/tasks`, { title: 'Done already', due_at: later, assignee_id: agent.id }), 201);
    expectStatus(await agent.c.patch(`/api/v1/tasks/${t2.id}`, { status: 'done' }), 200);
    await sleep(3000);
    assert.equal(items(await agent.c.get('/api/v1/notifications')).filter((x) => x.kind === 'task_due' && x.data.task_id === t2.id).length, 0);
  });
});

describe('bulk actions as a background job', { timeout: FILE_TIMEOUT_MS }, () => {
  it('over 1,000 leads: 202 with a job that reaches done, with per-lead failures counted', async () => {
    const { manager, admin, other } = w.users;
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(expectStatus(await manager.c.post('/api/v1/leads', { full_name: `Job lead ${i}` }), 201).id);
    // pad past 1,000 with ids that do not exist: each is one failure, not a failed job
    const all = [...ids];
    for (let i = 0; all.length < 1005; i++) all.push(9_000_000 + i);
    const stage = items(await manager.c.get('/api/v1/stages')).find((s) => s.name === 'Quoted');
    const r = await manager.c.post('/api/v1/leads/bulk', { ids: all, action: 'set_stage', params: { stage_id: stage.id } });
    const acc = expectStatus(r, 202);
    assert.equal(r.headers.location, `/api/v1/jobs/${acc.job_id}`);
    assert.equal(acc.total, 1005);
    const job = await until('the job to finish', async () => {
      const j = expectStatus(await manager.c.get(`/api/v1/jobs/${acc.job_id}`), 200);
      return j.status === 'done' ? j : null;
    });
    assert.equal(job.total, 1005);
    assert.equal(job.done, 1005);
    assert.equal(job.failed, 985);
    assert.equal(job.result.succeeded, 20);
    assert.equal(job.errors[0].error.code, 'not_found');
    assert.equal(job.errors[0].id, 9_000_000);
    assert.equal(job.kind, 'bulk');
    for (const id of ids.slice(0, 3)) assert.equal(expectStatus(await manager.c.get(`/api/v1/leads/${id}`), 200).stage_id, stage.id);
    expectError(await other.c.get(`/api/v1/jobs/${acc.job_id}`), 404, 'not_found');
    expectStatus(await admin.c.get(`/api/v1/jobs/${acc.job_id}`), 200);
    assert.ok(items(await manager.c.get('/api/v1/jobs?kind=bulk')).some((j) => j.id === acc.job_id));
    // As described: another kind (even the server's own, webhook) matches no job; so does another status.
    assert.deepEqual(items(await admin.c.get('/api/v1/jobs?kind=webhook')), []);
    assert.deepEqual(items(await admin.c.get('/api/v1/jobs?kind=export')), []);
    assert.deepEqual(items(await manager.c.get('/api/v1/jobs?status=paused')), []);
  });
});
