// 35-ops-backup-webhooks: what an operator relies on under load. `leadpath backup` finishes while
// the server keeps writing (a copy taken step by step started over on every write and never ended);
// deliveries to a dead webhook endpoint back off together (one connection attempt per wait, not one
// per delivery), recover together, and an endpoint failing for webhook_pause_hours is paused with
// the admins told; deliveries in flight per endpoint are capped.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startWorld, startServer, login, client, runCli, tmpDir, expectStatus, items, until, sleep, freePort, receiver,
  FILE_TIMEOUT_MS, SANITIZED,
} from './lib.mjs';

const PG = !!process.env.LEADPATH_TEST_PG_URL;
const open = [];
after(async () => { for (const s of open) await s.stop().catch(() => {}); });

describe('backup under write load', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  it('finishes while clients keep writing, and holds every lead acknowledged before it began', { skip: PG && 'pg_dump takes its own snapshot' }, async () => {
    const w = await startWorld();
    open.push(w.srv);
    const { admin, agent } = w.users;
    // A database well over the 4 MB a step used to copy: 6,000 leads with long notes, through the CLI import.
    const dir = tmpDir();
    const note = 'n'.repeat(1500);
    const rows = ['full_name,email,notes'];
    for (let i = 0; i < 6000; i++) rows.push(`Bulk Person ${i},bulk${i}@backup.test,${note}`);
    const csv = join(dir, 'many.csv');
    writeFileSync(csv, rows.join('\n') + '\n');
    const imp = await runCli(['import', '--db', w.srv.db, csv], { timeoutMs: 120_000 });
    assert.equal(imp.code, 0, imp.stderr + imp.stdout);
    const before = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Before The Backup' }), 201);

    // Writers: four clients creating and editing leads without pause until the backup ends.
    let writing = true;
    let written = 0;
    const writer = async () => {
      while (writing) {
        const r = await agent.c.post('/api/v1/leads', { full_name: `Busy ${written}`, notes: note });
        if (r.status === 201) written++;
      }
    };
    const writers = [writer(), writer(), writer(), writer()];
    await sleep(300);
    const file = join(dir, 'copy.db');
    const r = await runCli(['backup', '--db', w.srv.db, file], { timeoutMs: SANITIZED ? 180_000 : 60_000 });
    const writtenDuring = written;
    writing = false;
    await Promise.all(writers);
    assert.equal(r.code, 0, `backup failed: ${r.stderr}`);
    assert.ok(writtenDuring > 0, 'the server was written to while the backup ran');
    assert.ok(!existsSync(file + '.partial'), 'no half-written file is left beside the copy');
    const check = execFileSync('sqlite3', [file, 'PRAGMA integrity_check;']).toString().trim();
    assert.equal(check, 'ok');
    const count = Number(execFileSync('sqlite3', [file, "SELECT count(*) FROM leads WHERE full_name LIKE 'Bulk Person %';"]).toString());
    assert.equal(count, 6000, 'every imported lead is in the copy');
    const found = execFileSync('sqlite3', [file, `SELECT full_name FROM leads WHERE id = ${before.id};`]).toString().trim();
    assert.equal(found, 'Before The Backup');
    void admin;
  });
});

/** An HTTP endpoint that answers slowly and records how many requests it held at once. */
function slowReceiver(ms) {
  let now = 0;
  const seen = { max: 0, total: 0 };
  const server = http.createServer((req, res) => {
    now++; seen.total++;
    seen.max = Math.max(seen.max, now);
    req.resume();
    setTimeout(() => { now--; res.end('ok'); }, ms);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/slow`, seen,
    close: () => new Promise((r) => server.close(r)),
  })));
}

describe('webhook endpoints that fail', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  it('deliveries to a dead endpoint back off together, then the endpoint is paused and the admins told', async () => {
    const w = await startWorld({ keepDir: true, args: ['--workers', '4'] });
    let srv = w.srv;
    open.push(srv);
    const { admin, agent } = w.users;
    const deadPort = await freePort();  // nothing listens here
    const hooks = [];
    for (let i = 0; i < 5; i++) {
      hooks.push(expectStatus(await admin.c.post('/api/v1/webhooks', { url: `http://127.0.0.1:${deadPort}/dead${i}`, events: ['created'] }), 201));
    }
    assert.deepEqual(hooks[0].health, { failures: 0, failing_since: null, retry_at: null, paused_at: null, last_error: null });
    for (let i = 0; i < 10; i++) expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Dead Letter ${i}` }), 201);
    await until('every endpoint to have failed once', async () => {
      const all = await Promise.all(hooks.map(async (h) => expectStatus(await admin.c.get(`/api/v1/webhooks/${h.id}`), 200)));
      return all.every((h) => h.health.failures >= 1);
    });
    await sleep(2500);  // a few waits of the breaker (2 s, then 4 s)
    for (const h of hooks) {
      const ds = items(await admin.c.get(`/api/v1/webhooks/${h.id}/deliveries?limit=100`));
      assert.equal(ds.length, 10, 'one delivery per event');
      const tried = ds.reduce((n, d) => n + d.attempts, 0);
      // Without the breaker each delivery retries on its own: 20 or more connection attempts by now
      // (10 first attempts, then each again after 2 s). With it: one per wait of the endpoint (2 s,
      // 4 s), two of them possibly at once (webhook_max_in_flight).
      assert.ok(tried <= 6, `endpoint ${h.id}: ${tried} connection attempts for 10 deliveries`);
      const queued = ds.filter((d) => d.status === 'queued');
      assert.equal(queued.length, 10, 'nothing failed for good: they wait');
      // And none of them used its attempts on its own: the endpoint's waits are all there were.
      assert.ok(ds.every((d) => d.attempts <= 3), `attempts per delivery: ${ds.map((d) => d.attempts).join(',')}`);
      const got = expectStatus(await admin.c.get(`/api/v1/webhooks/${h.id}`), 200);
      assert.ok(got.health.failing_since && got.health.retry_at && got.health.last_error, JSON.stringify(got.health));
      assert.equal(got.active, true);
    }

    // A day later the endpoint is still dead: its next attempt pauses it.
    const dir = srv.dir;
    await srv.stop();
    srv = await startServer({ dir, keepDir: true, db: w.srv.db, args: ['--workers', '4'], env: { LEADPATH_TIME_OFFSET: String(25 * 3600) } });
    open.push(srv);
    const ad = client(srv, (await login(srv, admin.email)).token);
    const paused = await until('the endpoints to be paused', async () => {
      const all = await Promise.all(hooks.map(async (h) => expectStatus(await ad.get(`/api/v1/webhooks/${h.id}`), 200)));
      return all.every((h) => !h.active) && all;
    });
    for (const h of paused) assert.ok(h.health.paused_at, 'paused_at says when');
    const evs = items(await ad.get('/api/v1/events?after=0&limit=500')).filter((e) => e.kind === 'webhook_paused');
    assert.deepEqual(evs.map((e) => e.entity_id ?? e.id).length, 5, 'one event per paused endpoint');
    const notes = items(await ad.get('/api/v1/notifications?limit=100')).filter((n) => n.kind === 'webhook_paused');
    assert.equal(notes.length, 5, 'the admin is told of each');
    // Switched back on by an admin: a fresh start.
    const back = expectStatus(await ad.patch(`/api/v1/webhooks/${hooks[0].id}`, { active: true }), 200);
    assert.equal(back.active, true);
    assert.equal(back.health.failures, 0);
    assert.equal(back.health.paused_at, null);
  });

  it('an endpoint that recovers gets every waiting delivery once', async () => {
    const w = await startWorld({ args: ['--workers', '4'] });
    open.push(w.srv);
    const { admin, agent } = w.users;
    const rx = await receiver({ fail: 1 });
    try {
      const hook = expectStatus(await admin.c.post('/api/v1/webhooks', { url: rx.url, events: ['created'] }), 201);
      const made = [];
      for (let i = 0; i < 6; i++) made.push(expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Comes Back ${i}` }), 201).id);
      await until('every delivery to arrive', () => new Set(rx.got.map((g) => g.headers['x-leadpath-delivery'])).size >= 6
        && rx.got.length >= 7);
      await sleep(500);
      const delivered = rx.got.slice(1).map((g) => g.body.lead_id ?? g.body.entity_id);
      assert.equal(rx.got.length, 7, 'one failure, then each delivery exactly once');
      assert.equal(new Set(rx.got.slice(1).map((g) => g.headers['x-leadpath-delivery'])).size, 6);
      void delivered; void made;
      const h = expectStatus(await admin.c.get(`/api/v1/webhooks/${hook.id}`), 200);
      assert.equal(h.health.failures, 0, 'a success closes the breaker');
    } finally { await rx.close(); }
  });

  it('at most webhook_max_in_flight deliveries run at once per endpoint', async () => {
    const w = await startWorld({ args: ['--workers', '4'] });
    open.push(w.srv);
    const { admin, agent } = w.users;
    const slow = await slowReceiver(400);
    try {
      expectStatus(await admin.c.patch('/api/v1/settings', { webhook_max_in_flight: 1 }), 200);
      expectStatus(await admin.c.post('/api/v1/webhooks', { url: slow.url, events: ['created'] }), 201);
      for (let i = 0; i < 6; i++) expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Slow Lane ${i}` }), 201);
      await until('six deliveries', () => slow.seen.total >= 6, SANITIZED ? 60_000 : 30_000);
      assert.equal(slow.seen.max, 1, 'never two at once');
      expectStatus(await admin.c.patch('/api/v1/settings', { webhook_max_in_flight: 3 }), 200);
      for (let i = 0; i < 6; i++) expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Fast Lane ${i}` }), 201);
      await until('twelve deliveries', () => slow.seen.total >= 12, SANITIZED ? 60_000 : 30_000);
      assert.ok(slow.seen.max > 1 && slow.seen.max <= 3, `with a cap of 3, ${slow.seen.max} at once`);
    } finally { await slow.close(); }
  });
});
