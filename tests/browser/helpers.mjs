// helpers.mjs — shared setup for the browser tests: start the real leadpath binary on a free
// port with a fresh SQLite database, create an admin user, talk to the API with a bearer token,
// and launch Debian's Chromium through playwright-core (never a downloaded browser).
// LEADPATH_MOCK=1 runs against tests/browser/mock-api.mjs instead (UI work without a binary).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.LEADPATH_BIN || path.join(root, 'build', 'leadpath');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const MOCK = process.env.LEADPATH_MOCK === '1';
// LEADPATH_WEB_DISK=1: the real server answers the API, but web/ is served from disk (through
// mock-api.mjs as a proxy), to try UI edits without rebuilding the binary.
export const WEB_DISK = process.env.LEADPATH_WEB_DISK === '1';
// Screenshots go under build/ so a test run leaves the work tree as it was; `make screenshots`
// sets LEADPATH_SHOTS_DIR=docs/screenshots to refresh the README's pictures.
export const SHOTS = process.env.LEADPATH_SHOTS_DIR
  ? path.resolve(root, process.env.LEADPATH_SHOTS_DIR) : path.join(root, 'build', 'screenshots');
export const AXE = path.join(root, 'node_modules', 'axe-core', 'axe.min.js');

// Why the suite cannot run here, or null.
export function skipReason() {
  if (!fs.existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (apt-get install chromium)`;
  if (!fs.existsSync(path.join(root, 'node_modules', 'playwright-core'))) return 'playwright-core missing (npm ci)';
  if (!MOCK && !fs.existsSync(BIN)) return `no server binary at ${BIN} (make)`;
  return null;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts a server and an admin; returns {base, api, user, email, password, stop} (with demo, also
// logins: every demo login as {email, password, role}).
// With demo: true the server fills the database with its demo data and the first demo login of
// the wanted role (default agent) is used instead of a new user. serverArgs: more `serve` options
// (e.g. ['--sweep-seconds', '1']).
export async function startServer({ email = 'ada@example.com', name = 'Ada Admin', password = 'correct-horse-battery', demo = false, demoRole = 'agent', serverArgs = [] } = {}) {
  if (MOCK) {
    const { startMock } = await import('./mock-api.mjs');
    const { server, port } = await startMock();
    const base = `http://127.0.0.1:${port}`;
    const ctx = await apiClient(base, 'admin@example.com', 'password123');
    return { ...ctx, base, email: 'admin@example.com', password: 'password123', stop: () => new Promise((r) => server.close(r)) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leadpath-ui-'));
  const db = `sqlite:${path.join(dir, 't.db')}`;
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const proc = spawn(BIN, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, ...(demo ? ['--demo'] : []), ...serverArgs], { stdio: ['ignore', log, log] });
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  let base = `http://127.0.0.1:${port}`;
  let front = null;
  const stop = async () => {
    if (front) await new Promise((r) => front.close(r));
    if (!exited) { proc.kill('SIGTERM'); for (let i = 0; i < 50 && !exited; i++) await sleep(100); if (!exited) proc.kill('SIGKILL'); }
    fs.closeSync(log);
    if (!process.env.KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    let up = false;
    for (let i = 0; i < 150 && !exited; i++) {
      try { const r = await fetch(base + '/healthz'); if (r.ok) { up = true; break; } } catch { /* not yet */ }
      await sleep(100);
    }
    if (!up) throw new Error(`server did not come up: ${JSON.stringify(exited)}\n` + fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000));
    if (WEB_DISK) {
      const { startMock } = await import('./mock-api.mjs');
      const m = await startMock({ proxy: base });
      front = m.server;
      base = `http://127.0.0.1:${m.port}`;
    }
    if (demo) {
      const out = fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
      const logins = [...out.matchAll(/^\s*(\S+@\S+)\s+(\S+)\s+\((\w+)\)/gm)].map((m) => ({ email: m[1], password: m[2], role: m[3] }));
      const who = logins.find((l) => l.role === demoRole) || logins[0];
      if (!who) throw new Error('no demo logins printed:\n' + out.slice(0, 2000));
      const ctx = await apiClient(base, who.email, who.password);
      return { ...ctx, base, email: who.email, password: who.password, logins, stop, dir };
    }
    // the binary migrates at start; add the user through the command line, as an operator would
    const add = spawnSync(BIN, ['user', 'add', '--db', db, '--email', email, '--name', name, '--role', 'admin', '--password-stdin'],
      { input: password + '\n', encoding: 'utf8', timeout: 20000 });
    if (add.status !== 0) throw new Error(`user add failed (${add.status}): ${add.stderr}${add.stdout}`);
    const ctx = await apiClient(base, email, password);
    return { ...ctx, base, email, password, stop, dir };
  } catch (e) { await stop(); throw e; }
}

// A tiny API client that authenticates with the bearer token (no CSRF needed).
export async function apiClient(base, email, password) {
  const r = await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const body = await r.json();
  if (!r.ok) throw new Error(`login failed ${r.status}: ${JSON.stringify(body)}`);
  const token = body.token;
  const api = async (method, p, data, headers = {}) => {
    const res = await fetch(base + '/api/v1' + p, { method, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json',
      ...(data !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers }, body: data !== undefined ? JSON.stringify(data) : undefined });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, body: json };
  };
  return { api, user: body.user, token };
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'] });
}

// Collects page errors and CSP violations so a test can assert there were none.
export function watchPage(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push('csp: ' + m.text());
  });
  return problems;
}

export async function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  if (opts.fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), ...opts });
}

/** Signs in through the login form at `path` as the server's user (or any {base, email, password})
 *  and waits for the dashboard's `heading`. */
export async function signIn(page, srv, path = '/', heading = 'My leads') {
  await page.goto(srv.base + path);
  await page.getByLabel('Email').fill(srv.email);
  await page.getByLabel('Password').fill(srv.password);
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('heading', { name: heading }).waitFor();
}

/** A new browser context (viewport, and any other context option such as acceptDownloads) with
 *  one page: 15 s default timeout, page errors and CSP violations collected (watchPage), signed in
 *  as `who` (the server's user, or any {base, email, password}) up to the dashboard's `heading`.
 *  noDialogs: a browser prompt()/confirm()/alert() counts as a problem too (and is dismissed).
 *  Returns {page, problems, ctx}. */
export async function openPage(browser, who, { viewport = { width: 1366, height: 900 }, heading = 'My leads', noDialogs = false, ...context } = {}) {
  const ctx = await browser.newContext({ viewport, ...context });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const problems = watchPage(page);
  if (noDialogs) page.on('dialog', (d) => { problems.push('browser dialog: ' + d.message()); d.dismiss().catch(() => {}); });
  await signIn(page, who, '/', heading);
  return { page, problems, ctx };
}

/** The `after` of every file: closes the browser and stops the server (either may be missing). */
export async function stopAll(browser, srv) {
  if (browser) await browser.close();
  if (srv) await srv.stop();
}

/** axe-core over the DevTools protocol (so the page keeps its Content-Security-Policy): fails
 *  with `what` and the violations when any is serious or critical. */
export async function audit(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(fs.readFileSync(AXE, 'utf8'));
  const bad = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  assert.deepEqual(bad, [], `${what}: ${JSON.stringify(bad, null, 1)}`);
}
