// 31-two-servers-jobs (issue 3): background work with two servers on one PostgreSQL database is
// done once, not once per server — each webhook delivery reaches the receiver exactly once while
// both servers' workers claim jobs, and a due task is reminded once although both servers sweep.
// Runs only on PostgreSQL (LEADPATH_TEST_PG_URL, as scripts/test.sh sets it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, startWorld, client, expectStatus, items, sleep, receiver, until, FILE_TIMEOUT_MS } from './lib.mjs';

const PG = process.env.LEADPATH_TEST_PG_URL;
const SKIP = PG ? false : 'needs PostgreSQL: set LEADPATH_TEST_PG_URL (scripts/test.sh does; see scripts/pg-test.sh)';
const psql = (url, sql) => execFileSync('psql', [url, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

describe('background work with two servers on one database', { skip: SKIP, timeout: FILE_TIMEOUT_MS }, () => {
  let w, b, rx;
  before(async () => {
    if (SKIP) return;
    w = await startWorld({ args: ['--sweep-seconds', '1', '--workers', '3'] });
    b = await startServer({ db: w.srv.db, args: ['--sweep-seconds', '1', '--workers', '3'] });
    rx = await receiver();
  });
  after(async () => {
    for (const s of [b, w && w.srv]) if (s) await s.stop().catch(() => {});
    if (rx) await rx.close();
  });

  it('200 events made on both servers: each delivered exactly once, by workers of both servers', async () => {
    const admin = w.users.admin.c, adminB = client(b, w.users.admin.token);
    const hook = expectStatus(await admin.post('/api/v1/webhooks', { url: rx.url, events: ['created'] }), 201);
    const made = [];
    for (let round = 0; round < 20; round++) {
      const calls = [];
      for (let i = 0; i < 10; i++) calls.push((i % 2 ? adminB : admin).post('/api/v1/leads', { full_name: `Once ${round}-${i}` }));
      for (const r of await Promise.all(calls)) made.push(expectStatus(r, 201).id);
    }
    await until('200 deliveries', () => rx.got.length >= 200, 60_000);
    await sleep(1500);  // anything sent twice would have arrived by now
    const perLead = new Map();
    for (const g of rx.got) perLead.set(g.body.lead_id, (perLead.get(g.body.lead_id) || 0) + 1);
    for (const id of made) assert.equal(perLead.get(id), 1, `lead ${id}: one delivery`);
    assert.equal(rx.got.length, 200);
    assert.equal(new Set(rx.got.map((g) => g.headers['x-leadpath-delivery'])).size, 200);
    const rows = psql(w.srv.db, `SELECT status, attempts, result FROM jobs WHERE ref = 'webhook:${hook.id}'`).split('\n');
    assert.equal(rows.length, 200);
    const workers = new Set();
    for (const row of rows) {
      const [status, attempts, result] = row.split('|');
      assert.equal(status, 'done');
      assert.equal(attempts, '1', 'claimed once');
      workers.add(JSON.parse(result).worker.split(':').slice(0, 2).join(':'));
    }
    assert.equal(workers.size, 2, `both servers delivered (${[...workers].join(', ')})`);
  });

  it('a due task is reminded once although both servers sweep every second', async () => {
    const { manager, agent } = w.users;
    const lead = expectStatus(await manager.c.post('/api/v1/leads', { full_name: 'Twice Swept', owner_id: agent.id }), 201);
    const due = new Date(Date.now() - 30_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const tasks = [];
    for (let i = 0; i < 5; i++) tasks.push(expectStatus(await manager.c.post(`/api/v1/leads/${lead.id}/tasks`, { title: `Due ${i}`, due_at: due, assignee_id: agent.id }), 201).id);
    const mine = async () => items(await agent.c.get('/api/v1/notifications')).filter((n) => n.kind === 'task_due' && tasks.includes(n.data.task_id));
    await until('five reminders', async () => (await mine()).length >= 5);
    await sleep(3000);
    const got = await mine();
    assert.equal(got.length, 5, 'one per task');
    assert.equal(new Set(got.map((n) => n.data.task_id)).size, 5);
    // one sweep job per second, whichever server offered it first
    const dup = psql(w.srv.db, "SELECT count(*) FROM (SELECT unique_key FROM jobs WHERE kind = 'sweep' GROUP BY unique_key HAVING count(*) > 1) d");
    assert.equal(dup, '0');
  });

  it('--db-pool caps the connections a server opens: 2 connections serve 60 requests at once', async () => {
    const url = new URL(w.srv.db);
    url.searchParams.set('application_name', 'pooltest');
    const c = await startServer({ db: url.toString(), args: ['--db-pool', '2', '--workers', '0', '--threads', '16'] });
    try {
      const admin = client(c, w.users.admin.token);
      const mine = () => Number(psql(w.srv.db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pooltest'"));
      let most = 0;
      for (let round = 0; round < 3; round++) {
        const calls = [];
        for (let i = 0; i < 60; i++) {
          calls.push(i % 3 ? admin.get('/api/v1/leads?limit=20') : admin.post('/api/v1/leads', { full_name: `Pooled ${round}-${i}` }));
        }
        const seen = setInterval(() => { most = Math.max(most, mine()); }, 20);
        const res = await Promise.all(calls);
        clearInterval(seen);
        for (const r of res) expectStatus(r, [200, 201]);
      }
      most = Math.max(most, mine());
      assert.ok(most >= 1 && most <= 2, `PostgreSQL saw ${most} connections from the server with --db-pool 2`);
    } finally {
      await c.stop().catch(() => {});
    }
  });

  it('the events feed, polled while both servers write, skips nothing: ids appear in commit order', async () => {
    const admin = w.users.admin.c, adminB = client(b, w.users.admin.token);
    let after = Number(items(await admin.get('/api/v1/events?after=0&limit=1')).length ? psql(w.srv.db, 'SELECT max(id) FROM events') : 0);
    const start = after;
    const seen = new Set();
    let writing = true;
    const poll = (async () => {
      while (writing) {
        const page = expectStatus(await admin.get(`/api/v1/events?after=${after}&limit=500`), 200);
        for (const e of page.items) seen.add(e.id);
        if (page.items.length) after = page.items.at(-1).id;
        await sleep(5);
      }
    })();
    const writers = [];
    for (const c of [admin, adminB]) {
      writers.push((async () => {
        for (let i = 0; i < 40; i++) {
          const calls = [];
          for (let k = 0; k < 6; k++) calls.push(c.post('/api/v1/leads', { full_name: `Feed ${i}-${k}` }));
          for (const r of await Promise.all(calls)) expectStatus(r, 201);
        }
      })());
    }
    await Promise.all(writers);
    writing = false;
    await poll;
    // one last read picks up the tail
    for (;;) {
      const page = expectStatus(await admin.get(`/api/v1/events?after=${after}&limit=500`), 200);
      for (const e of page.items) seen.add(e.id);
      if (!page.items.length) break;
      after = page.items.at(-1).id;
    }
    const all = psql(w.srv.db, `SELECT id FROM events WHERE id > ${start} ORDER BY id`).split('\n').filter(Boolean).map(Number);
    assert.ok(all.length >= 480, `events written: ${all.length}`);
    const missed = all.filter((id) => !seen.has(id));
    assert.deepEqual(missed, [], 'every event reached the poller');
  });
});
