// 30-two-servers (issue 3): several `leadpath serve` processes sharing one PostgreSQL database —
// any server answers any request (leads, If-Match, tokens), concurrent closes and If-Match
// PATCHes across servers give exactly one winner, one Idempotency-Key sent to both creates one
// lead, `leadpath migrate` raced on a fresh database
// migrates once, and a database outage (on a private second cluster) answers 503 `unavailable`,
// whatever the request, and heals once PostgreSQL is back. Runs only on PostgreSQL
// (LEADPATH_TEST_PG_URL, as scripts/test.sh sets it); needs root or sudo for the outage, like
// scripts/pg-test.sh.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  startServer, startWorld, addUser, login, client, request, runCli, expectStatus, expectError, items, walk,
  freshPgDatabase, ROOT, PASSWORD, sleep, FILE_TIMEOUT_MS,
} from './lib.mjs';

const PG = process.env.LEADPATH_TEST_PG_URL;
const SKIP = PG ? false : 'needs PostgreSQL: set LEADPATH_TEST_PG_URL (scripts/test.sh does; see scripts/pg-test.sh)';

const psql = (url, sql) => execFileSync('psql', [url, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

describe('two servers on one PostgreSQL database', { skip: SKIP, timeout: FILE_TIMEOUT_MS }, () => {
  let w;
  let b;        // the second server, on w.srv's database
  let admin;    // admin's client on server A
  let adminB;   // the same token on server B
  before(async () => {
    w = await startWorld();
    b = await startServer({ db: w.srv.db });
    admin = w.users.admin.c;
    adminB = client(b, w.users.admin.token);
  });
  after(async () => {
    const errs = [];
    for (const s of [b, w && w.srv]) if (s) await s.stop().catch((e) => errs.push(e));
    if (errs.length) throw errs[0];
  });

  it('a lead created on A is read, patched with If-Match and listed on B; A sees B\'s change', async () => {
    const l = expectStatus(await admin.post('/api/v1/leads', { full_name: 'Shared Lead', city: 'Lyon' }), 201, 'create on A');
    const g = expectStatus(await adminB.get(`/api/v1/leads/${l.id}`), 200, 'read on B');
    assert.equal(g.full_name, 'Shared Lead');
    assert.equal(g.version, l.version);
    const p = expectStatus(await adminB.patch(`/api/v1/leads/${l.id}`, { city: 'Nice' },
      { headers: { 'If-Match': String(l.version) } }), 200, 'PATCH If-Match on B');
    assert.equal(p.city, 'Nice');
    assert.equal(p.version, l.version + 1);
    // The stale version is refused on A too.
    expectError(await admin.patch(`/api/v1/leads/${l.id}`, { city: 'Paris' },
      { headers: { 'If-Match': String(l.version) } }), 412, 'version_mismatch', 'stale If-Match on A');
    const a = expectStatus(await admin.get(`/api/v1/leads/${l.id}`), 200, 'read on A');
    assert.equal(a.city, 'Nice');
    assert.equal(a.version, l.version + 1);
    const listed = await walk(adminB, '/api/v1/leads', 200);
    const mine = listed.find((x) => x.id === l.id);
    assert.ok(mine, 'B lists the lead created on A');
    assert.equal(mine.city, 'Nice');
  });

  it('a token from logging in on A works on B (and B\'s on A)', async () => {
    const email = 'roamer@e2e.test';
    const id = await addUser(w.srv, { email, role: 'agent' });
    const onA = await login(w.srv, email);
    const me = expectStatus(await client(b, onA.token).get('/api/v1/me'), 200, 'A token on B');
    assert.equal(me.id ?? me.user?.id, id);
    const onB = await login(b, email);
    const l = expectStatus(await client(w.srv, onB.token).post('/api/v1/leads', { full_name: 'Roamer Lead' }), 201, 'B token on A');
    expectStatus(await client(b, onA.token).get(`/api/v1/leads/${l.id}`), 200, 'own lead on B');
    // A bad token is refused by both.
    expectError(await client(b, 'nope').get('/api/v1/me'), 401, 'unauthorized');
  });

  it('10 rounds of 8 concurrent closes (4 per server): one 200, seven 409, one closed event', async () => {
    for (let round = 0; round < 10; round++) {
      const l = expectStatus(await admin.post('/api/v1/leads', { full_name: `Race Close ${round}` }), 201, 'create');
      const calls = [];
      for (let i = 0; i < 4; i++) {
        calls.push(admin.post(`/api/v1/leads/${l.id}/close`, { outcome: 'won' }));
        calls.push(adminB.post(`/api/v1/leads/${l.id}/close`, { outcome: 'won' }));
      }
      const rs = await Promise.all(calls);
      const codes = rs.map((r) => r.status);
      const detail = `round ${round}: ${JSON.stringify(codes)} ${rs.filter((r) => r.status !== 200 && r.status !== 409).map((r) => r.text).join(' | ')}`;
      assert.equal(codes.filter((c) => c === 200).length, 1, `exactly one close succeeds; ${detail}`);
      assert.equal(codes.filter((c) => c === 409).length, 7, `the other seven answer 409; ${detail}`);
      for (const r of rs) if (r.status === 409) expectError(r, 409, 'conflict', detail);
      const won = rs.find((r) => r.status === 200).body;
      assert.equal(won.status, 'closed');
      assert.equal(won.outcome, 'won');
      const tl = await walk(adminB, `/api/v1/leads/${l.id}/timeline`, 500);
      assert.equal(tl.filter((e) => e.kind === 'closed').length, 1, `one closed event; ${detail}`);
      const g = expectStatus(await admin.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(g.status, 'closed');
      assert.equal(g.version, won.version, 'no later write changed the lead');
    }
  });

  it('concurrent If-Match PATCHes across servers (4 per server): one 200, the rest 412', async () => {
    for (let round = 0; round < 3; round++) {
      const l = expectStatus(await admin.post('/api/v1/leads', { full_name: `Race Patch ${round}` }), 201, 'create');
      const calls = [];
      for (let i = 0; i < 4; i++) {
        for (const [c, side] of [[admin, 'A'], [adminB, 'B']]) {
          calls.push(c.patch(`/api/v1/leads/${l.id}`, { city: `City ${side}${i}` }, { headers: { 'If-Match': String(l.version) } }));
        }
      }
      const rs = await Promise.all(calls);
      const codes = rs.map((r) => r.status);
      const detail = `round ${round}: ${JSON.stringify(codes)} ${rs.filter((r) => r.status !== 200 && r.status !== 412).map((r) => r.text).join(' | ')}`;
      assert.equal(codes.filter((c) => c === 200).length, 1, `exactly one PATCH succeeds; ${detail}`);
      assert.equal(codes.filter((c) => c === 412).length, 7, `the others answer 412; ${detail}`);
      for (const r of rs) if (r.status === 412) expectError(r, 412, 'version_mismatch', detail);
      const won = rs.find((r) => r.status === 200).body;
      const g = expectStatus(await adminB.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(g.version, l.version + 1);
      assert.equal(g.city, won.city, 'the stored city is the winner\'s');
    }
  });

  it('one Idempotency-Key sent to both servers at once (2 per server) creates one lead; the others replay it or answer 409', async () => {
    for (let round = 0; round < 5; round++) {
      const tok = `twicekeyed${round}x${Date.now().toString(36)}`;
      const body = { full_name: `Keyed ${tok}` };
      const headers = { 'Idempotency-Key': `two-servers-${tok}` };
      const rs = await Promise.all([admin, adminB, admin, adminB].map((c) => c.post('/api/v1/leads', body, { headers })));
      const detail = `round ${round}: ${rs.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join(' | ')}`;
      const created = rs.filter((r) => r.status === 201);
      assert.ok(created.length >= 1, `one request creates the lead; ${detail}`);
      assert.equal(new Set(created.map((r) => r.body.id)).size, 1, `every 201 names the same lead; ${detail}`);
      for (const r of rs) if (r.status !== 201) expectError(r, 409, 'conflict', detail);
      const found = items(await admin.get(`/api/v1/leads?q=${tok}&owner=any&status=all`), 'search');
      assert.deepEqual(found.map((l) => l.id), [created[0].body.id], `exactly one lead; ${detail}`);
    }
  });

  it('4 `leadpath migrate` raced on a fresh database: all exit 0, one applies, schema_migrations matches', async () => {
    const url = freshPgDatabase(PG);
    const rs = await Promise.all([0, 1, 2, 3].map(() => runCli(['migrate', '--db', url])));
    const detail = JSON.stringify(rs.map((r) => ({ code: r.code, out: r.stdout.trim(), err: r.stderr.trim() })));
    for (const r of rs) assert.equal(r.code, 0, `every migrate exits 0: ${detail}`);
    const applied = rs.map((r) => {
      const m = r.stdout.match(/(\d+) applied, schema version (\d+)/);
      assert.ok(m, `migrate output: ${detail}`);
      return [Number(m[1]), Number(m[2])];
    });
    const v = await runCli(['version']);
    const schema = Number((v.stdout.match(/schema (\d+)/) || [])[1]);
    assert.ok(schema > 0, `leadpath version names the schema: ${v.stdout}`);
    assert.equal(applied.filter(([n]) => n > 0).length, 1, `exactly one migrate applies: ${detail}`);
    assert.deepEqual(applied.map(([n]) => n).sort(), [0, 0, 0, schema], `it applies every migration: ${detail}`);
    for (const [, s] of applied) assert.equal(s, schema);
    assert.equal(Number(psql(url, 'SELECT count(*) FROM schema_migrations')), schema);
    // The seeded lists exist once.
    assert.equal(Number(psql(url, "SELECT count(*) FROM outcomes WHERE key = 'won'")), 1);
  });
});

// Last: stop and start PostgreSQL under a running server. On a second, private throwaway cluster
// (scripts/pg-test.sh), so other test files sharing LEADPATH_TEST_PG_URL see no outage.
describe('database outage', { skip: SKIP, timeout: FILE_TIMEOUT_MS }, () => {
  const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
  let url;
  let dir;
  let port;
  let srv;   // default worker threads
  let one;   // one worker thread, so the next request surely meets the connection the outage cut
  const asPg = (args) => {
    const uid = process.getuid();
    const cmd = uid === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : ['sudo', ['runuser', '-u', 'postgres', '--', ...args]];
    return execFileSync(cmd[0], cmd[1], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const pgStop = () => asPg([`${PGBIN}/pg_ctl`, '-D', `${dir}/data`, '-m', 'fast', '-w', 'stop']);
  // The same options scripts/pg-test.sh starts it with, so it comes back on the same port.
  const pgStart = () => asPg([`${PGBIN}/pg_ctl`, '-D', `${dir}/data`, '-l', `${dir}/server.log`, '-w', '-t', '30',
    '-o', `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    'start']);
  const pgRunning = () => { try { asPg([`${PGBIN}/pg_ctl`, '-D', `${dir}/data`, 'status']); return true; } catch { return false; } };

  before(() => {
    const out = execFileSync(join(ROOT, 'scripts', 'pg-test.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n');
    [url, dir] = out;
    port = new URL(url).port;
  });
  after(async () => {
    try {
      for (const s of [one, srv]) if (s) await s.stop();
    } finally {
      if (dir) execFileSync(join(ROOT, 'scripts', 'pg-test.sh'), ['stop', dir], { stdio: 'ignore' });
    }
  });

  it('PostgreSQL stopped: 503 unavailable in the error shape; started again: 200 within seconds, data kept', async () => {
    srv = await startServer({ db: url });
    await addUser(srv, { email: 'admin@e2e.test', role: 'admin' });
    const c = client(srv, (await login(srv, 'admin@e2e.test')).token);
    const unused = client(srv, (await login(srv, 'admin@e2e.test')).token);   // not used before the outage
    const before = expectStatus(await c.post('/api/v1/leads', { full_name: 'Before Outage', city: 'Brest' }), 201);
    const patched = expectStatus(await c.patch(`/api/v1/leads/${before.id}`, { city: 'Rennes' }), 200);

    pgStop();
    try {
      assert.equal(pgRunning(), false, 'PostgreSQL is down');
      const t0 = Date.now();
      const r = await c.get(`/api/v1/leads/${before.id}`, { timeoutMs: 12_000 });
      expectError(r, 503, 'unavailable', 'read during the outage');
      const w = await c.post('/api/v1/leads', { full_name: 'During Outage' }, { timeoutMs: 12_000 });
      expectError(w, 503, 'unavailable', 'write during the outage');
      const l = await c.get('/api/v1/leads', { timeoutMs: 12_000 });
      expectError(l, 503, 'unavailable', 'list during the outage');
      // A token the server has not seen yet cannot be checked: 503, not 401 (clients would log out).
      expectError(await unused.get('/api/v1/me', { timeoutMs: 12_000 }), 503, 'unavailable', 'unchecked token during the outage');
      expectError(await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'admin@e2e.test', password: PASSWORD }, timeoutMs: 12_000 }),
        503, 'unavailable', 'login during the outage');
      // Every thread's connection is down: a burst answers 503 everywhere, none hangs.
      const burst = await Promise.all(Array.from({ length: 18 }, (_, i) => [
        () => c.get(`/api/v1/leads/${before.id}`, { timeoutMs: 12_000 }),
        () => c.patch(`/api/v1/leads/${before.id}`, { city: 'Lost' }, { timeoutMs: 12_000 }),
        () => c.post('/api/v1/leads', { full_name: 'During Outage' }, { timeoutMs: 12_000 }),
      ][i % 3]()));
      for (const x of burst) expectError(x, 503, 'unavailable', 'burst during the outage');
      assert.ok(Date.now() - t0 < 11_000, `outage answers come fast (${Date.now() - t0} ms)`);
      expectStatus(await c.get('/healthz'), 200, '/healthz answers while the process runs');
      expectError(await c.get('/readyz'), 503, 'unavailable', '/readyz during the outage');
      assert.ok(!srv.hasExited(), 'the server is still running');
    } finally {
      if (!pgRunning()) pgStart();
    }

    // Back: the same server answers 200 again within a few seconds.
    const deadline = Date.now() + 5_000;
    let g;
    for (;;) {
      g = await c.get(`/api/v1/leads/${before.id}`);
      if (g.status === 200 || Date.now() > deadline) break;
      await sleep(100);
    }
    const got = expectStatus(g, 200, 'read after PostgreSQL is back');
    assert.equal(got.full_name, 'Before Outage');
    assert.equal(got.city, 'Rennes', 'the acknowledged PATCH is kept');
    assert.equal(got.version, patched.version);
    expectStatus(await c.get('/readyz'), 200, '/readyz after the outage');
    // Every thread reconnects on its next use: a burst of reads and writes all succeed.
    const burst = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2
      ? c.get(`/api/v1/leads/${before.id}`)
      : c.post('/api/v1/leads', { full_name: `Burst ${i}` }))));
    for (const x of burst) expectStatus(x, [200, 201], 'burst after the outage');
    const after = expectStatus(await c.post('/api/v1/leads', { full_name: 'After Outage' }), 201, 'write after the outage');
    const names = (await walk(c, '/api/v1/leads', 100)).map((x) => x.full_name);
    assert.ok(names.includes('Before Outage') && names.includes('After Outage'), JSON.stringify(names));
    assert.ok(!names.includes('During Outage'), 'the refused write created nothing');
    assert.equal(names.filter((n) => n.startsWith('Burst ')).length, 8);
    assert.ok(after.id > before.id);
  });

  it('the first request on a connection the outage cut answers 503 whatever it is, never a 4xx', async () => {
    one = await startServer({ db: url, args: ['--threads', '1'] });
    const adminId = (await login(one, 'admin@e2e.test')).user.id;
    const c = client(one, (await login(one, 'admin@e2e.test')).token);
    const l = expectStatus(await c.post('/api/v1/leads', { full_name: 'Cut Connection' }), 201);
    const kinds = {
      'POST /leads': (x) => x.post('/api/v1/leads', { full_name: 'During Cut' }),
      'PATCH /leads/{id} If-Match': (x, v) => x.patch(`/api/v1/leads/${l.id}`, { city: 'Cut' }, { headers: { 'If-Match': String(v) } }),
      'POST /leads/{id}/close': (x) => x.post(`/api/v1/leads/${l.id}/close`, { outcome: 'won' }),
      'POST /leads/{id}/tasks': (x) => x.post(`/api/v1/leads/${l.id}/tasks`, { type: 'call', title: 'Cut call', assignee_id: adminId }),
      'POST /groups': (x) => x.post('/api/v1/groups', { name: 'Cut Group' }),
      'GET /leads/{id}': (x) => x.get(`/api/v1/leads/${l.id}`),
      'GET /leads': (x) => x.get('/api/v1/leads'),
    };
    const wrong = [];
    for (const [what, call] of Object.entries(kinds)) {
      // A new token, first used just after a clock second starts: it is still in the server's
      // two-second identity cache when the call comes, so the call itself, not the token check,
      // meets the cut connection.
      const x = client(one, (await login(one, 'admin@e2e.test')).token);
      await sleep(1010 - (Date.now() % 1000));
      const { version } = expectStatus(await x.get(`/api/v1/leads/${l.id}`), 200, `before ${what}`);   // connection alive
      const t0 = Date.now();
      pgStop();
      if (Date.now() - t0 > 900) console.error(`note: stopping PostgreSQL took ${Date.now() - t0} ms; the token may have left the cache`);
      let r;
      try {
        r = await call(x, version);
      } finally {
        if (!pgRunning()) pgStart();
      }
      if (r.status !== 503 || r.body?.error?.code !== 'unavailable') wrong.push(`${what}: got ${r.status} ${r.text.slice(0, 200)}`);
      else expectError(r, 503, 'unavailable', what);
      const deadline = Date.now() + 5_000;
      while ((await c.get(`/api/v1/leads/${l.id}`)).status !== 200) {
        assert.ok(Date.now() < deadline, `${what}: no 200 within 5 s after PostgreSQL is back`);
        await sleep(100);
      }
    }
    assert.deepEqual(wrong, [], 'expected 503 unavailable for each');
    const g = expectStatus(await c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g.status, 'open', 'the refused close changed nothing');
    assert.equal(g.version, l.version, 'the refused PATCH changed nothing');
  });
});
