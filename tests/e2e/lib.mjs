// lib.mjs — helpers for the end-to-end suite: start a real `leadpath serve` on its own SQLite
// database and port, add users through the CLI, log in, and make HTTP requests.
// Every test file starts its own server (startServer / startWorld) so files run in parallel.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import http from 'node:http';
import assert from 'node:assert/strict';
import { contractProblem, CONTRACT_ON } from './contract.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.LEADPATH_BIN
  ? resolve(process.env.LEADPATH_BIN)
  : join(ROOT, 'build', 'leadpath');
export const SANITIZED = process.env.LEADPATH_SANITIZED === '1';
/** How long a server may take to answer /healthz after start. */
export const START_TIMEOUT_MS = SANITIZED ? 30_000 : 10_000;
/** Use as `describe(name, { timeout: FILE_TIMEOUT_MS }, ...)`. */
export const FILE_TIMEOUT_MS = SANITIZED ? 240_000 : 60_000;
export const PASSWORD = 'correct-horse-9';

// Servers still running when this process exits are killed, so a crashed test file leaves none behind.
const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * LEADPATH_TEST_PG_URL (postgresql://user@host:port/db) runs every server on PostgreSQL: each gets
 * its own new database lp_<random> on that server (made with psql); returns its URL. The URL is
 * kept in DIR/pg-url, so a server started again on the same dir finds the same database.
 */
function pgDatabaseFor(url, dir) {
  const saved = join(dir, 'pg-url');
  if (existsSync(saved)) return readFileSync(saved, 'utf8');
  const db = freshPgDatabase(url);
  writeFileSync(saved, db);
  return db;
}

/** A new empty database lp_<random> on the PostgreSQL server of `url` (made with psql); returns its URL. */
export function freshPgDatabase(url) {
  const name = `lp_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  execFileSync('psql', [url, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Run the binary with args; `input` goes to stdin (then stdin closes).
 * Resolves {code, signal, stdout, stderr}; never rejects on a non-zero exit.
 */
export function runCli(args, { input = '', timeoutMs = SANITIZED ? 60_000 : 20_000, env = {} } = {}) {
  return new Promise((res, rej) => {
    if (!existsSync(BIN)) return rej(new Error(`leadpath binary not found at ${BIN} (build it with make)`));
    const p = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => { clearTimeout(t); rej(e); });
    p.on('close', (code, signal) => { clearTimeout(t); res({ code, signal, stdout, stderr }); });
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

/** Make a fresh temporary directory; returns its path. */
export function tmpDir(prefix = 'leadpath-e2e-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Start `leadpath serve` on a fresh database (or `opts.dir`) and wait for /healthz 200.
 * `opts.db` (a database URL, e.g. another server's `srv.db`) runs it on that database instead,
 * so two servers can share one PostgreSQL database.
 * Returns a server handle: {base, port, dir, dbPath, db, proc, output(), stop(), exited}.
 */
export async function startServer({ args = [], dir = null, env = {}, keepDir = false, viaEnv = false, db = null } = {}) {
  if (!existsSync(BIN)) throw new Error(`leadpath binary not found at ${BIN} (build it with make)`);
  dir = dir || tmpDir();
  const dbPath = join(dir, 't.db');
  db = db || (process.env.LEADPATH_TEST_PG_URL ? pgDatabaseFor(process.env.LEADPATH_TEST_PG_URL, dir) : `sqlite:${dbPath}`);
  const port = await freePort();
  // viaEnv: give the database and address in LEADPATH_DB / LEADPATH_LISTEN instead of flags.
  const flags = viaEnv ? [] : ['--db', db, '--listen', `127.0.0.1:${port}`];
  const extraEnv = viaEnv ? { LEADPATH_DB: db, LEADPATH_LISTEN: `127.0.0.1:${port}` } : {};
  const proc = spawn(BIN, ['serve', ...flags, ...args], {
    env: { ...process.env, ...extraEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  const keep = (d) => { out += d; if (out.length > 2_000_000) out = out.slice(-1_000_000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((r) => {
    proc.on('exit', (code, signal) => r({ code, signal }));
    proc.on('error', (e) => { out += `\nspawn error: ${e.message}\n`; r({ code: null, signal: null, error: e }); });
  });
  let hasExited = false;
  exited.then(() => { hasExited = true; live.delete(proc); });
  const srv = {
    base: `http://127.0.0.1:${port}`, port, dir, dbPath, db, proc, exited,
    output: () => out,
    hasExited: () => hasExited,
    /**
     * SIGTERM the server, wait for it, remove its directory. Throws (with the server's last
     * output, e.g. a sanitizer report) unless it exited by itself with code 0.
     */
    async stop() {
      let killed = false;
      if (!hasExited) {
        proc.kill('SIGTERM');
        let timer;
        const r = await Promise.race([exited,
          new Promise((res) => { timer = setTimeout(() => res(null), SANITIZED ? 20_000 : 8_000); })]);
        clearTimeout(timer);
        if (!r) { killed = true; proc.kill('SIGKILL'); await exited; }
      }
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
      const r = await exited;
      if (killed || r.code !== 0) {
        throw new Error(`server did not exit cleanly after SIGTERM (code ${r.code}, signal ${r.signal}${killed ? ', had to SIGKILL' : ''}):\n${out.slice(-4000)}`);
      }
      return r;
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (hasExited) {
      const r = await exited;
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
      throw new Error(`server exited early (code ${r.code}, signal ${r.signal}):\n${out.slice(-4000)}`);
    }
    try {
      const r = await request(srv, 'GET', '/healthz', { timeoutMs: 1000 });
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await srv.stop().catch(() => {});
      throw new Error(`server did not answer /healthz 200 within ${START_TIMEOUT_MS} ms:\n${out.slice(-4000)}`);
    }
    await sleep(50);
  }
  return srv;
}

/**
 * One HTTP request. opts: token (Bearer), cookie, csrf, headers, body (object → JSON),
 * raw (string/Buffer sent as is), contentType, timeoutMs.
 * Resolves {status, headers, body, text}: body is parsed JSON when the answer parses, else null.
 * Rejects when the answer does not match api/openapi.yaml (contract.mjs): undocumented
 * operation, unlisted status, or a body that is not the status's schema.
 */
export function request(srv, method, path, opts = {}) {
  const { token, cookie, csrf, body, raw, timeoutMs = SANITIZED ? 60_000 : 15_000 } = opts;
  const headers = { ...(opts.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (cookie) headers.Cookie = cookie;
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let payload = null;
  if (raw !== undefined) {
    payload = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
  } else if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body));
    headers['Content-Type'] = opts.contentType || 'application/json';
  }
  if (payload) headers['Content-Length'] = String(payload.length);
  const url = new URL(path, srv.base);
  return new Promise((res, rej) => {
    let response = null;
    let done = false;
    const finish = (status, hdrs, buf) => {
      if (done) return;
      done = true;
      const text = buf.toString('utf8');
      let parsed = null;
      try { parsed = text.length ? JSON.parse(text) : null; } catch { parsed = null; }
      const answer = { status, headers: hdrs, body: parsed, text };
      // Every answer must match api/openapi.yaml (contract.mjs); opts.uncontracted skips it for
      // a request that is deliberately not an API call.
      const problem = CONTRACT_ON && !opts.uncontracted ? contractProblem(method, path, answer) : null;
      if (problem) {
        const e = new Error(`contract (api/openapi.yaml): ${problem}`);
        e.contract = true;
        rej(e);
        return;
      }
      res(answer);
    };
    const req = http.request(url, { method, headers, agent: false }, (r) => {
      response = r;
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => finish(r.statusCode, r.headers, Buffer.concat(chunks)));
      r.on('error', () => finish(r.statusCode, r.headers, Buffer.concat(chunks)));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', (e) => {
      // A server may answer (e.g. 413) and close before reading the whole body.
      if (response) return;
      if (!done) {
        done = true;
        if (srv.hasExited && srv.hasExited()) {
          e.message += `\n(the server has exited; its last output:)\n${srv.output().slice(-3000)}`;
        }
        rej(e);
      }
    });
    if (payload) {
      req.write(payload, () => {});
    }
    req.end();
  });
}

/** Add a user with the CLI; returns the new id (integer). Throws with the output on failure. */
export async function addUser(srv, { email, name, role, manager, password = PASSWORD }) {
  const args = ['user', 'add', '--db', srv.db, '--email', email, '--name', name || email.split('@')[0], '--role', role];
  if (manager) args.push('--manager', manager);
  args.push('--password-stdin');
  const r = await runCli(args, { input: password + '\n' });
  if (r.code !== 0) throw new Error(`user add ${email} failed (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  const m = r.stdout.match(/\d+/);
  if (!m) throw new Error(`user add ${email}: no id printed: ${r.stdout}`);
  return Number(m[0]);
}

/** Log in; returns {token, csrf, user, cookie (name=value), setCookie (raw header)}. */
export async function login(srv, email, password = PASSWORD) {
  const r = await request(srv, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${r.text}`);
  const sc = [].concat(r.headers['set-cookie'] || []);
  const session = sc.find((c) => c.startsWith('leadpath_session=')) || '';
  return {
    token: r.body.token, csrf: r.body.csrf_token, user: r.body.user,
    cookie: session.split(';')[0], setCookie: session,
  };
}

/** A client bound to a bearer token: c.get(path), c.post(path, body, opts), c.patch, c.del. */
export function client(srv, token) {
  const call = (method) => (path, body, opts = {}) =>
    request(srv, method, path, { token, ...(body !== undefined ? { body } : {}), ...opts });
  return { srv, token, get: (p, o = {}) => request(srv, 'GET', p, { token, ...o }),
    post: call('POST'), patch: call('PATCH'), put: call('PUT'),
    del: (p, o = {}) => request(srv, 'DELETE', p, { token, ...o }) };
}

let uniq = 0;
/** A unique-enough suffix for names and emails inside one file. */
export function u(prefix = 'x') { uniq += 1; return `${prefix}${process.pid}${uniq}`; }

/**
 * Start a server with a small organisation:
 *   admin; manager (role manager); agent (reports to manager); agent2 (reports to manager);
 *   other (agent, no manager → outside the manager's team).
 * Returns {srv, users: {admin, manager, agent, agent2, other}} where each user is
 * {id, email, token, csrf, cookie, user, c (client)}.
 */
export async function startWorld(opts = {}) {
  const srv = await startServer(opts);
  const spec = [
    ['admin', 'admin@e2e.test', 'Ada Admin', 'admin'],
    ['manager', 'manager@e2e.test', 'Max Manager', 'manager'],
    ['agent', 'agent@e2e.test', 'Alice Agent', 'agent', 'manager@e2e.test'],
    ['agent2', 'agent2@e2e.test', 'Bob Agent', 'agent', 'manager@e2e.test'],
    ['other', 'other@e2e.test', 'Olga Other', 'agent'],
  ];
  const users = {};
  try {
    for (const [key, email, name, role, manager] of spec) {
      const id = await addUser(srv, { email, name, role, manager });
      const l = await login(srv, email);
      users[key] = { id, email, name, role, ...l, c: client(srv, l.token) };
    }
  } catch (e) {
    await srv.stop().catch(() => {});
    throw e;
  }
  return { srv, users };
}

// ---- assertions ---------------------------------------------------------------------------

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/**
 * Every timestamp in an answer is RFC 3339 in UTC (API.md, Conventions): any key `at` or
 * ending in `_at` holds null or such a string, however deep.
 */
export function assertTimestamps(v, path = 'body') {
  if (Array.isArray(v)) { v.forEach((x, i) => assertTimestamps(x, `${path}[${i}]`)); return; }
  if (!v || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'at' || k.endsWith('_at')) && x !== null) {
      assert.ok(typeof x === 'string' && RFC3339_UTC.test(x), `${path}.${k} must be an RFC 3339 UTC time, got ${JSON.stringify(x)}`);
    } else assertTimestamps(x, `${path}.${k}`);
  }
}

/** Assert the response has `status`, with a readable message showing the body. */
export function expectStatus(r, status, what = '') {
  const ok = Array.isArray(status) ? status.includes(r.status) : r.status === status;
  assert.ok(ok, `${what ? what + ': ' : ''}expected HTTP ${status}, got ${r.status}: ${r.text.slice(0, 600)}`);
  if (r.status < 300) assertTimestamps(r.body, `${what || 'answer'}`);
  return r.body;
}

/** The error codes the contract allows (API.md, Conventions). */
export const ERROR_CODES = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'version_mismatch',
  'too_large', 'unsupported_media_type', 'validation_failed', 'rate_limited', 'internal', 'unavailable'];

/** Assert the body is the one error shape {error:{code,message,fields?}} with `code` (one of ERROR_CODES). */
export function expectError(r, status, code, what = '') {
  expectStatus(r, status, what);
  assert.ok(r.body && typeof r.body === 'object', `${what}: error body is not JSON: ${r.text.slice(0, 300)}`);
  assert.ok(r.body.error && typeof r.body.error === 'object', `${what}: no "error" object: ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.body.error.code, 'string', `${what}: error.code must be a string`);
  assert.equal(typeof r.body.error.message, 'string', `${what}: error.message must be a string`);
  assert.ok(r.body.error.message.length > 0, `${what}: error.message must not be empty`);
  if ('fields' in r.body.error) {
    assert.ok(r.body.error.fields && typeof r.body.error.fields === 'object' && !Array.isArray(r.body.error.fields),
      `${what}: error.fields must be an object`);
  }
  assert.ok(ERROR_CODES.includes(r.body.error.code), `${what}: error.code "${r.body.error.code}" is not one of the contract's codes`);
  if (code) assert.equal(r.body.error.code, code, `${what}: error.code`);
  return r.body.error;
}

/** Assert a list answer {items:[...], next_cursor} and return the items. */
export function items(r, what = '') {
  expectStatus(r, 200, what);
  assert.ok(r.body && Array.isArray(r.body.items), `${what}: expected {items:[...]}, got ${r.text.slice(0, 300)}`);
  assert.ok('next_cursor' in r.body, `${what}: list answer must carry next_cursor`);
  return r.body.items;
}

/** Walk every page of a list (limit per page); returns all items. Fails on a cursor loop. */
export async function walk(c, path, limit = 50) {
  const all = [];
  let cursor = null;
  const seen = new Set();
  for (let i = 0; i < 1000; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const p = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await c.get(p);
    const page = items(r, `GET ${p}`);
    assert.ok(page.length <= limit, `page longer than limit ${limit}: ${page.length}`);
    all.push(...page);
    cursor = r.body.next_cursor;
    if (cursor === null || cursor === undefined) return all;
    assert.ok(!seen.has(cursor), `cursor repeated: ${cursor}`);
    seen.add(cursor);
  }
  throw new Error('more than 1000 pages');
}

/** Email/phone list entries may be strings or {value|email|phone}: return the strings. */
export function strs(list) {
  return (list || []).map((x) => (typeof x === 'string' ? x : x.value ?? x.email ?? x.phone ?? x.address ?? x.number));
}

export const isoNow = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** Find an item by name (case-insensitive) in a list answer's items. */
export function byName(list, name) {
  return list.find((x) => String(x.name).toLowerCase() === name.toLowerCase());
}

/**
 * Run a fixture step that some tests need; on failure log it and answer null, so the tests
 * that need it fail on their own while the others still run.
 */
export async function soft(what, fn) {
  try { return await fn(); } catch (e) {
    console.error(`fixture step failed (${what}): ${e.message.split('\n')[0]}`);
    return null;
  }
}

// ---- background work ----------------------------------------------------------------------

/** A webhook receiver on a free loopback port: records every delivery; `fail` answers 500 to the first n. */
export function receiver({ fail = 0 } = {}) {
  const got = [];
  let failing = fail;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      got.push({ headers: req.headers, raw, body: JSON.parse(raw), path: req.url });
      if (failing > 0) { failing -= 1; res.statusCode = 500; res.end('not now'); return; }
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/hook`, got,
    close: () => new Promise((r) => server.close(r)),
  })));
}

/** Polls fn until it returns something truthy (returned), or fails after ms. */
export async function until(what, fn, ms = SANITIZED ? 40_000 : 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Opens the live stream (GET /api/v1/stream, Server-Sent Events) with a bearer token; resolves {status, events: [{id, event, data}], comments, close()}. */
export function openStream(srv, token, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${srv.base}/api/v1/stream`, { headers: { Authorization: `Bearer ${token}`, ...headers } }, (res) => {
      const s = { status: res.statusCode, headers: res.headers, events: [], comments: 0, ended: false, text: '' };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        s.text += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { s.comments++; continue; }
            const c = line.indexOf(':');
            if (c > 0) m[line.slice(0, c)] = line.slice(c + 1).trimStart();
          }
          if (m.data) s.events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) });
        }
      });
      res.on('end', () => { s.ended = true; });
      res.on('error', () => { s.ended = true; });
      s.close = () => req.destroy();
      resolve(s);
    });
    req.on('error', reject);
  });
}

/** The lists the reports name, read by client c: {sources, reasons (lost reasons), stages, outcomes}. */
export async function reportLists(c) {
  return {
    sources: items(await c.get('/api/v1/sources')),
    reasons: items(await c.get('/api/v1/lost-reasons')),
    stages: items(await c.get('/api/v1/stages')),
    outcomes: items(await c.get('/api/v1/outcomes')),
  };
}

/** The leads a test file makes, to check the server's figures against its own count:
 *  mk(c, body) creates one (201) and keeps its id, made.add(id) keeps one made otherwise, and
 *  now(c) reads every one back as the server has it now (deleted ones are gone). */
export function leadBook() {
  const made = new Set();
  return {
    made,
    async mk(c, body) {
      const l = expectStatus(await c.post('/api/v1/leads', body), 201);
      made.add(l.id);
      return l;
    },
    async now(c) {
      const out = [];
      for (const id of made) {
        const r = await c.get(`/api/v1/leads/${id}`);
        if (r.status === 200) out.push(r.body);
      }
      return out;
    },
  };
}
