// 01-cli: the command line — version, migrate, user add (and its errors), serve --demo, SIGTERM.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  runCli, tmpDir, startServer, request, login, client, items, addUser, expectStatus,
  FILE_TIMEOUT_MS, SANITIZED, sleep, PASSWORD,
} from './lib.mjs';

const dirs = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function freshDb() {
  const d = tmpDir();
  dirs.push(d);
  return { dir: d, path: join(d, 'c.db'), url: `sqlite:${join(d, 'c.db')}` };
}

describe('CLI', { timeout: FILE_TIMEOUT_MS }, () => {
  it('`leadpath version` exits 0 and prints a version', async () => {
    const r = await runCli(['version']);
    assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
    assert.match(r.stdout, /leadpath/i, 'names the program');
    assert.match(r.stdout, /\d+\.\d+|[0-9a-f]{7}/, 'prints a version number or commit');
  });

  it('`leadpath migrate --db` creates the schema on a new database and is repeatable', async () => {
    const db = freshDb();
    const r1 = await runCli(['migrate', '--db', db.url]);
    assert.equal(r1.code, 0, `first migrate: ${r1.stdout} ${r1.stderr}`);
    assert.ok(existsSync(db.path), 'the database file exists after migrate');
    const r2 = await runCli(['migrate', '--db', db.url]);
    assert.equal(r2.code, 0, `second migrate (nothing to do) must also exit 0: ${r2.stdout} ${r2.stderr}`);
    // The migrated database is usable: a user can be added to it.
    const r3 = await runCli(['user', 'add', '--db', db.url, '--email', 'm@e2e.test', '--name', 'M',
      '--role', 'admin', '--password-stdin'], { input: PASSWORD + '\n' });
    assert.equal(r3.code, 0, `user add on migrated db: ${r3.stdout} ${r3.stderr}`);
    assert.match(r3.stdout, /\d+/, 'user add prints the new id');
  });

  it('`leadpath user add` refuses a bad role, a short password, a duplicate email and an unknown manager', async () => {
    const db = freshDb();
    assert.equal((await runCli(['migrate', '--db', db.url])).code, 0);
    const add = (email, role, password = PASSWORD, extra = []) => runCli(
      ['user', 'add', '--db', db.url, '--email', email, '--name', 'N', '--role', role, ...extra, '--password-stdin'],
      { input: password + '\n' });

    const bad = await add('a@e2e.test', 'emperor');
    assert.notEqual(bad.code, 0, 'bad role must exit non-zero');
    assert.ok((bad.stderr + bad.stdout).trim().length > 0, 'bad role prints a message');

    const short = await add('b@e2e.test', 'agent', 'short');
    assert.notEqual(short.code, 0, 'password under 8 characters must exit non-zero');

    const ok = await add('c@e2e.test', 'agent');
    assert.equal(ok.code, 0, `a valid user is added: ${ok.stderr}`);
    const dup = await add('c@e2e.test', 'agent');
    assert.notEqual(dup.code, 0, 'a duplicate email must exit non-zero');

    const noMgr = await add('d@e2e.test', 'agent', PASSWORD, ['--manager', 'nobody@e2e.test']);
    assert.notEqual(noMgr.code, 0, 'an unknown --manager must exit non-zero');
  });

  it('a user added with the CLI while the server runs can log in; the refused ones cannot', async () => {
    const srv = await startServer();
    try {
      await addUser(srv, { email: 'live@e2e.test', role: 'manager' });
      const l = await login(srv, 'live@e2e.test');
      assert.equal(l.user.email, 'live@e2e.test');
      assert.equal(l.user.role, 'manager');
      const refused = await runCli(['user', 'add', '--db', srv.db, '--email', 'short@e2e.test', '--name', 'S',
        '--role', 'agent', '--password-stdin'], { input: 'short\n' });
      assert.notEqual(refused.code, 0, 'short password refused');
      const r = await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'short@e2e.test', password: 'short' } });
      assert.equal(r.status, 401, 'a refused user does not exist');
    } finally { await srv.stop(); }
  });

  it('serve takes the database and address from LEADPATH_DB and LEADPATH_LISTEN', async () => {
    const srv = await startServer({ viaEnv: true });
    try {
      if (!process.env.LEADPATH_TEST_PG_URL) assert.ok(existsSync(srv.dbPath), 'the database named in LEADPATH_DB was created');
      await addUser(srv, { email: 'env@e2e.test', role: 'admin' });
      const l = await login(srv, 'env@e2e.test');
      assert.equal(l.user.email, 'env@e2e.test', 'the server reads the same database the CLI wrote');
    } finally { await srv.stop(); }
  });

  it('a second server on a port already served is refused, and the first keeps answering', async () => {
    const srv = await startServer();
    try {
      const db = freshDb();
      const r = await runCli(['serve', '--db', db.url, '--listen', `127.0.0.1:${srv.port}`]);
      assert.notEqual(r.code, 0, 'the second server exits with an error');
      assert.match(r.stderr + r.stdout, /in use/, 'and says the address is in use');
      for (let i = 0; i < 20; i++) expectStatus(await request(srv, 'GET', '/healthz'), 200);
    } finally { await srv.stop(); }
  });

  it('SIGTERM stops the server with exit code 0', async () => {
    const srv = await startServer();
    try {
      srv.proc.kill('SIGTERM');
      let timer;
      const r = await Promise.race([srv.exited,
        new Promise((res) => { timer = setTimeout(() => res('timeout'), SANITIZED ? 20_000 : 8_000); })]);
      clearTimeout(timer);
      assert.notEqual(r, 'timeout', 'server must exit after SIGTERM');
      assert.equal(r.signal, null, 'exits by itself, not killed by the signal');
      assert.equal(r.code, 0, 'exit code 0');
    } finally { await srv.stop(); }
  });

  it('data written before SIGTERM is there after a restart on the same database', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const srv = await startServer({ dir, keepDir: true });
    let id;
    try {
      await addUser(srv, { email: 'persist@e2e.test', role: 'admin' });
      const c = client(srv, (await login(srv, 'persist@e2e.test')).token);
      id = expectStatus(await c.post('/api/v1/leads', { full_name: 'Survives Restart' }), 201).id;
      expectStatus(await c.patch(`/api/v1/leads/${id}`, { city: 'Durable' }), 200);
    } finally { await srv.stop(); }
    const again = await startServer({ dir, keepDir: true });
    try {
      const c = client(again, (await login(again, 'persist@e2e.test')).token);
      const l = expectStatus(await c.get(`/api/v1/leads/${id}`), 200, 'lead after restart');
      assert.equal(l.full_name, 'Survives Restart');
      assert.equal(l.city, 'Durable');
      assert.equal(l.version, 2);
    } finally { await again.stop(); }
  });

  it('a lost search file (SQLite) is rebuilt from the leads: search finds what was written before and after', { skip: process.env.LEADPATH_TEST_PG_URL ? 'SQLite only: PostgreSQL keeps its index with the leads' : false }, async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const srv = await startServer({ dir, keepDir: true });
    try {
      await addUser(srv, { email: 'search@e2e.test', role: 'admin' });
      const c = client(srv, (await login(srv, 'search@e2e.test')).token);
      expectStatus(await c.post('/api/v1/leads', { full_name: 'Wilhelmina Quenby', emails: ['wq@searchfile.test'] }), 201);
      const r = expectStatus(await c.get('/api/v1/leads?q=quenby&status=all'), 200);
      assert.equal(r.items.length, 1, 'found before the restart');
    } finally { await srv.stop(); }
    for (const sfx of ['', '-wal', '-shm']) rmSync(join(dir, `t.db-search${sfx}`), { force: true });
    const again = await startServer({ dir, keepDir: true });
    try {
      const c = client(again, (await login(again, 'search@e2e.test')).token);
      expectStatus(await c.post('/api/v1/leads', { full_name: 'Bartholomew Quenby' }), 201);
      const r = expectStatus(await c.get('/api/v1/leads?q=quenby&status=all&sort=full_name'), 200, 'search after the rebuild');
      assert.deepEqual(r.items.map((l) => l.full_name), ['Bartholomew Quenby', 'Wilhelmina Quenby']);
      const e = expectStatus(await c.get('/api/v1/leads?q=searchfile.test&status=all'), 200);
      assert.equal(e.items.length, 1, 'an address is found too');
      assert.ok(existsSync(join(dir, 't.db-search')), 'the search file is made again');
    } finally { await again.stop(); }
  });

  it('`serve --demo` prints demo logins and fills a few hundred leads; a second --demo start adds nothing', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const srv = await startServer({ args: ['--demo'], dir, keepDir: true });
    let firstTotal = null;
    let creds = null;
    try {
      // The demo data may still be written after /healthz answers; wait briefly for logins in the output.
      let out = '';
      for (let i = 0; i < 100; i++) {
        out = srv.output();
        if (/[\w.+-]+@[\w-]+(\.[\w-]+)+/.test(out)) break;
        await sleep(100);
      }
      const lines = out.split('\n').filter((l) => /[\w.+-]+@[\w-]+(\.[\w-]+)+/.test(l));
      assert.ok(lines.length > 0, `serve --demo prints demo logins; output was:\n${out.slice(0, 2000)}`);
      // Try each printed email with each other word on its line as the password.
      const sessions = [];
      for (const line of lines) {
        const email = line.match(/[\w.+-]+@[\w-]+(\.[\w-]+)+/)[0];
        const words = line.replace(email, ' ').split(/[\s,;|()[\]"'`]+/)
          .map((w) => w.replace(/^(password|pass|pw)[:=]/i, '').replace(/[:.]$/, ''))
          .filter((w) => w.length >= 8);
        for (const w of words) {
          const r = await request(srv, 'POST', '/api/v1/auth/login', { body: { email, password: w } });
          if (r.status === 200) { sessions.push({ ...r.body, email, password: w }); break; }
        }
      }
      assert.ok(sessions.length > 0, `could log in with a printed demo login; lines:\n${lines.join('\n')}`);
      const admin = sessions.find((s) => s.user.role === 'admin') || sessions[0];
      const c = client(srv, admin.token);
      const r = await c.get('/api/v1/leads?owner=any&status=all&total=1&limit=10');
      const list = items(r, 'demo leads list');
      assert.ok(list.length > 0, 'the demo login lists leads');
      if (admin.user.role === 'admin') {
        assert.ok(r.body.total >= 200, `a few hundred demo leads, got total=${r.body.total}`);
      }
      firstTotal = r.body.total;
      creds = admin;
      const one = expectStatus(await c.get(`/api/v1/leads/${list[0].id}`), 200, 'open a demo lead');
      assert.ok(one.full_name, 'demo lead has a name');
    } finally { await srv.stop(); }

    // --demo fills only an empty database.
    const again = await startServer({ args: ['--demo'], dir, keepDir: true });
    try {
      const l = await login(again, creds.email, creds.password);
      const r = await client(again, l.token).get('/api/v1/leads?owner=any&status=all&total=1&limit=1');
      expectStatus(r, 200);
      assert.equal(r.body.total, firstTotal, 'no second batch of demo data');
    } finally { await again.stop(); }
  });
});
