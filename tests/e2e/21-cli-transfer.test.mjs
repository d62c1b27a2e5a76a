// 21-cli-transfer: `leadpath export` and `leadpath import` move leads between databases with
// their fields, owners (by email) and closed history; bad rows are reported by line; `backup`
// writes a copy that serves the same data.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorld, startServer, runCli, addUser, login, client, tmpDir, expectStatus, items, isoNow, DAY, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
let dir;
before(async () => { w = await startWorld(); dir = tmpDir('leadpath-transfer-'); });
after(async () => { if (w) await w.srv.stop(); if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('export and import', { timeout: FILE_TIMEOUT_MS }, () => {
  it('a CSV export imports into another database with the same leads, owners and history', async () => {
    const { admin, agent } = w.users;
    const open = expectStatus(await agent.c.post('/api/v1/leads', {
      full_name: 'Export, "Quoted" Olga', company: 'Olga & Co', emails: ['olga@export.test'], phones: ['+14155550123'],
      request: 'line one\nline two', value_cents: 12345, currency: 'EUR', score: 7, email_opt_out: true }), 201);
    const closed = expectStatus(await admin.c.post('/api/v1/leads', {
      full_name: 'History Hal', owner_id: agent.id, created_at: isoNow(-40 * DAY), status: 'closed', outcome: 'lost',
      closed_at: isoNow(-30 * DAY) }), 201);
    const out = await runCli(['export', '--db', w.srv.db]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout.split('\n')[0], /^id,full_name,/);

    const target = await startServer();
    try {
      await addUser(target, { email: 'admin@e2e.test', name: 'Ada', role: 'admin' });
      await addUser(target, { email: 'filler@e2e.test', name: 'Filler', role: 'agent' });
      const agentId = await addUser(target, { email: 'agent@e2e.test', name: 'Alice', role: 'agent' });
      const file = join(dir, 'leads.csv');
      writeFileSync(file, out.stdout);
      const imp = await runCli(['import', '--db', target.db, file]);
      assert.equal(imp.code, 0, imp.stderr + imp.stdout);
      assert.match(imp.stdout, /imported \d+ leads, 0 failed/);
      const t = client(target, (await login(target, 'agent@e2e.test')).token);
      const all = items(await t.get('/api/v1/leads?status=all&limit=500'));
      const o = all.find((l) => l.full_name === open.full_name);
      assert.ok(o, 'the open lead arrived with its owner (matched by email)');
      assert.equal(o.owner_id, agentId);
      assert.deepEqual(o.emails, ['olga@export.test']);
      assert.deepEqual(o.phones, ['+14155550123']);
      assert.equal(o.request, 'line one\nline two');
      assert.equal(o.company, 'Olga & Co');
      assert.equal(o.value_cents, 12345);
      assert.equal(o.email_opt_out, true);
      // imported leads are whole: searchable, with their `created` event, found by address
      assert.ok(items(await t.get('/api/v1/leads?status=all&q=olga')).some((l) => l.id === o.id), 'found by search');
      assert.ok(items(await t.get('/api/v1/leads?status=all&q=14155550123')).some((l) => l.id === o.id), 'found by phone');
      assert.deepEqual(items(await t.get(`/api/v1/leads/${o.id}/timeline`)).map((e) => e.kind), ['created']);
      const h = all.find((l) => l.full_name === 'History Hal');
      assert.equal(h.status, 'closed');
      assert.equal(h.outcome, 'lost');
      assert.equal(h.created_at, closed.created_at);
      assert.equal(h.closed_at, closed.closed_at);
    } finally { await target.stop(); }
  });

  it('bad rows are named by line and the rest still import; the exit code says something failed', async () => {
    const target = await startServer();
    try {
      await addUser(target, { email: 'boss@e2e.test', name: 'Boss', role: 'admin' });
      const file = join(dir, 'bad.csv');
      writeFileSync(file, 'full_name,emails,phones,country\nGood Gail,gail@x.test,020 7946 0958,GB\n,nobody@x.test,,\nBad Mail,not-an-email,,\n');
      const imp = await runCli(['import', '--db', target.db, file]);
      assert.equal(imp.code, 1);
      assert.match(imp.stdout, /imported 1 leads, 2 failed/);
      assert.match(imp.stderr, /line 3: .*full_name: required/);
      assert.match(imp.stderr, /line 4: .*emails: invalid email address/);
      const c = client(target, (await login(target, 'boss@e2e.test')).token);
      const all = items(await c.get('/api/v1/leads?owner=any'));
      assert.deepEqual(all.map((l) => l.full_name), ['Good Gail']);
      assert.deepEqual(all[0].phones, ['+442079460958']);
    } finally { await target.stop(); }
  });

  it('backup writes a consistent copy while the server runs', async () => {
    const { agent } = w.users;
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Backed Up Bea' }), 201);
    const file = join(dir, 'copy.db');
    const r = await runCli(['backup', '--db', w.srv.db, file]);
    assert.equal(r.code, 0, r.stderr);
    if (process.env.LEADPATH_TEST_PG_URL) {
      // On PostgreSQL the copy is a pg_dump archive; the restore round trip is pg_restore's.
      assert.equal(readFileSync(file).subarray(0, 5).toString(), 'PGDMP');
      return;
    }
    const out = await runCli(['export', '--db', `sqlite:${file}`, '--format', 'json']);
    assert.equal(out.code, 0, out.stderr);
    const leads = JSON.parse(out.stdout);
    assert.ok(leads.some((l) => l.id === lead.id && l.full_name === 'Backed Up Bea'));
  });
});
