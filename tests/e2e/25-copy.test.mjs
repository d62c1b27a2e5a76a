// 25-copy: `leadpath copy --from URL --to URL` moves a whole database — leads with their history,
// tasks, comments, group memberships, users and API tokens, lists and settings, webhooks — into an
// empty one, on SQLite and (when a PostgreSQL is at hand) from this suite's engine into PostgreSQL.
// The copy serves the same answers, and new rows get new ids.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  startWorld, startServer, runCli, client, addUser, login, tmpDir, expectStatus, items, byName, freshPgDatabase, FILE_TIMEOUT_MS, until,
} from './lib.mjs';

let w;
let dir;
const started = [];
before(async () => { w = await startWorld(); dir = tmpDir('leadpath-copy-'); });
after(async () => {
  for (const s of started) await s.stop().catch(() => {});
  if (w) await w.srv.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('copy a database', { timeout: FILE_TIMEOUT_MS }, () => {
  let lead, closed, task, token, hook, source;
  it('fill the source with a bit of everything', async () => {
    const { admin, manager, agent } = w.users;
    lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Copied Carla', emails: ['carla@copy.test'], phones: ['+14155550199'], city: 'Lyon' }), 201);
    expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/comments`, { body: 'called, will buy' }), 201);
    task = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/tasks`, { title: 'Send the quote' }), 201);
    const reason = byName(items(await admin.c.get('/api/v1/lost-reasons')), 'Price').id;
    closed = expectStatus(await manager.c.post('/api/v1/leads', { full_name: 'Lost Larry' }), 201);
    expectStatus(await manager.c.post(`/api/v1/leads/${closed.id}/close`, { outcome: 'lost', reason_id: reason }), 200);
    expectStatus(await admin.c.post('/api/v1/sources', { name: 'Trade fair' }), 201);
    expectStatus(await admin.c.patch('/api/v1/settings', { sla_warning_days: 7 }), 200);
    token = expectStatus(await agent.c.post('/api/v1/tokens', { name: 'sync' }), 201).token;
    hook = expectStatus(await admin.c.post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/none', events: ['closed'], active: false }), 201);
    // a conversation and a template of the team's own
    const sent = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Your quote', body: 'Here it is' }), 202);
    // no mail server here: the outbox marks it failed (with its timeline event); copy once that is done
    await until('the message settled', async () =>
      items(await agent.c.get(`/api/v1/threads/${sent.thread_id}/messages`))[0].status === 'failed');
    expectStatus(await manager.c.post('/api/v1/templates', { name: 'Copied template', channel: 'sms', body: 'Hi {{lead.first_name}}' }), 201);
    source = {
      lead: expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200),
      closed: expectStatus(await manager.c.get(`/api/v1/leads/${closed.id}`), 200),
      timeline: items(await agent.c.get(`/api/v1/leads/${lead.id}/timeline`)),
      sources: items(await admin.c.get('/api/v1/sources')).map((s) => s.name),
      threads: items(await agent.c.get(`/api/v1/leads/${lead.id}/threads`)),
      templates: items(await admin.c.get('/api/v1/templates')),
    };
    source.messages = items(await agent.c.get(`/api/v1/threads/${source.threads[0].id}/messages`));
    assert.ok(source.closed.groups.length > 0, 'closing as lost put the lead in the default group');
  });

  const check = async (target) => {
    const agentCopy = client(target, token);  // an API token made on the source works on the copy
    const got = expectStatus(await agentCopy.get(`/api/v1/leads/${lead.id}`), 200);
    for (const k of ['full_name', 'emails', 'phones', 'city', 'version', 'created_at', 'owner_id', 'stage_id']) assert.deepEqual(got[k], source.lead[k], k);
    assert.deepEqual(items(await agentCopy.get(`/api/v1/leads/${lead.id}/timeline`)), source.timeline, 'the whole timeline');
    assert.equal(expectStatus(await agentCopy.get(`/api/v1/tasks/${task.id}`), 200).title, 'Send the quote');
    assert.deepEqual(items(await agentCopy.get(`/api/v1/leads/${lead.id}/threads`)), source.threads, 'conversations');
    const msgs = items(await agentCopy.get(`/api/v1/threads/${source.threads[0].id}/messages`));
    assert.deepEqual(msgs.map((m) => [m.id, m.subject, m.body]), source.messages.map((m) => [m.id, m.subject, m.body]), 'messages');
    assert.deepEqual(items(await agentCopy.get('/api/v1/templates')).map((t) => [t.id, t.name, t.body]),
      source.templates.map((t) => [t.id, t.name, t.body]), 'templates, the seeded and the team\'s own');
    assert.ok(items(await agentCopy.get('/api/v1/leads?q=carla')).some((l) => l.id === lead.id), 'searchable');
    const email = `later${started.length}@copy.test`;
    await addUser(target, { email, role: 'admin' });
    const admin = client(target, (await login(target, email)).token);
    const c2 = expectStatus(await admin.get(`/api/v1/leads/${closed.id}`), 200);
    assert.deepEqual(c2.groups, source.closed.groups, 'group memberships');
    assert.equal(c2.outcome, 'lost');
    assert.deepEqual(items(await admin.get('/api/v1/sources')).map((s) => s.name), source.sources);
    assert.equal(expectStatus(await admin.get('/api/v1/settings'), 200).sla_warning_days, 7);
    const hooks = items(await admin.get('/api/v1/webhooks'));
    assert.deepEqual(hooks.map((h) => [h.id, h.url, h.active]), [[hook.id, hook.url, false]]);
    const fresh = expectStatus(await admin.post('/api/v1/leads', { full_name: 'Made After The Copy' }), 201);
    assert.ok(fresh.id > closed.id, 'new rows get new ids');
  };

  it('into an empty SQLite database: the copy answers as the source did', async () => {
    const to = `sqlite:${join(dir, 'copy.db')}`;
    const r = await runCli(['copy', '--from', w.srv.db, '--to', to], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^leads\s+\d+$/m);
    const target = await startServer({ db: to });
    started.push(target);
    await check(target);
  });

  it('into PostgreSQL (when one is at hand)', { skip: process.env.LEADPATH_TEST_PG_URL ? false : 'needs LEADPATH_TEST_PG_URL' }, async () => {
    const to = freshPgDatabase(process.env.LEADPATH_TEST_PG_URL);
    const r = await runCli(['copy', '--from', w.srv.db, '--to', to], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const target = await startServer({ db: to });
    started.push(target);
    await check(target);
  });

  it('from SQLite into PostgreSQL: the address rows PostgreSQL keeps are made from the leads', { skip: process.env.LEADPATH_TEST_PG_URL ? false : 'needs LEADPATH_TEST_PG_URL' }, async () => {
    const from = `sqlite:${join(dir, 'lite.db')}`;
    const src = await startServer({ db: from });
    try {
      await addUser(src, { email: 'lite@copy.test', role: 'admin' });
      const c = client(src, (await login(src, 'lite@copy.test')).token);
      expectStatus(await c.post('/api/v1/leads', { full_name: 'Lite Lena', emails: ['lena@copy.test'], phones: ['+14155550123'] }), 201);
      const gone = expectStatus(await c.post('/api/v1/leads', { full_name: 'Gone Gus', emails: ['gus@copy.test'] }), 201);
      assert.ok([200, 204].includes((await c.del(`/api/v1/leads/${gone.id}`)).status), 'deleted');
    } finally { await src.stop(); }
    const to = freshPgDatabase(process.env.LEADPATH_TEST_PG_URL);
    const r = await runCli(['copy', '--from', from, '--to', to], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rows = execFileSync('psql', [to, '-qAt', '-c', 'SELECT kind, value FROM lead_contacts ORDER BY kind'], { encoding: 'utf8' });
    assert.equal(rows.trim(), 'email|lena@copy.test\nphone|+14155550123', 'one row per address of each live lead');
    const target = await startServer({ db: to });
    started.push(target);
    const admin = client(target, (await login(target, 'lite@copy.test')).token);
    assert.equal(items(await admin.get('/api/v1/leads?q=lena')).length, 1, 'searchable on PostgreSQL');
  });

  it('refuses a target that already has leads or users, and changes nothing there', async () => {
    const to = `sqlite:${join(dir, 'copy.db')}`;  // filled by the first copy
    const r = await runCli(['copy', '--from', w.srv.db, '--to', to]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already has leads or users/);
    const r2 = await runCli(['copy', '--from', w.srv.db]);
    assert.equal(r2.code, 2, 'without --to: usage');
  });
});
