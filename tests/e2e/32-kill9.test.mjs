// 32-kill9: the server is killed with SIGKILL in the middle of concurrent writes — creates,
// PATCHes and closes from many clients, some racing on the same leads — and started again on the
// same database, three times over. After each restart:
// - every write that was acknowledged (2xx) is there as it was answered (fields, version, status,
//   outcome), with its events (`created`, the `updated` that set the city, exactly one `closed`);
// - a write cut off by the kill is wholly there or wholly absent, never half (lead row and events);
// - a create cut off by the kill and sent again with its Idempotency-Key gives one lead, not two;
// - the database passes its checks: on SQLite `PRAGMA integrity_check` and `foreign_key_check`
//   of the database and of the search file (sqlite3 CLI); on both engines SQL consistency checks
//   (every closed lead has its one `closed` event, every lead its `created` event, no event of a
//   lead that is not there; on PostgreSQL every lead has its search row);
// - search (`?q=`) finds acknowledged leads by name (retrying while it answers 503 rebuilding).
// A SIGKILL is a process crash, not a power cut: it proves a 2xx is sent only after the commit
// reached the operating system and that recovery (SQLite's WAL, PostgreSQL's aborted sessions,
// the search index catching up) loses nothing. Runs on PostgreSQL too (LEADPATH_TEST_PG_URL).
// LEADPATH_KILL9_SEED=N replays the random choices of a failed run (its seed is printed).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import {
  startServer, addUser, login, client, items, walk, expectStatus, sleep, SANITIZED, FILE_TIMEOUT_MS,
} from './lib.mjs';

const PG = process.env.LEADPATH_TEST_PG_URL;
const CLIENTS = SANITIZED ? 16 : 24;
const ROUNDS = 3;
/** The kill comes this long (ms, drawn between the two) after the load starts. */
const KILL_WINDOW = SANITIZED ? [1500, 2500] : [800, 1600];
const SEARCH_WAIT_MS = SANITIZED ? 60_000 : 20_000;
const SEED = Number(process.env.LEADPATH_KILL9_SEED) || (Date.now() % 1_000_000_007);
const RUN = Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x').padEnd(6, 'x');

// A small seeded generator (mulberry32), so a failing run can be replayed with its seed.
let rs = SEED >>> 0;
function rnd() {
  rs = (rs + 0x6d2b79f5) >>> 0;
  let t = rs;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const pad = (n, w) => String(n).padStart(w, '0');
const CITIES = ['Lyon', 'Nice', 'Porto', 'Gent', 'Turku', 'Brno', 'Cork', 'Bari'];

/** The fields a stored lead must have as an acknowledged answer gave them. */
const FIELDS = ['id', 'version', 'full_name', 'company', 'city', 'value_cents', 'owner_id', 'status', 'outcome',
  'lost_reason_id', 'close_notes', 'closed_at', 'closed_by', 'created_at', 'updated_at'];
const pickFields = (l) => Object.fromEntries(FIELDS.map((f) => [f, l[f]]).concat([['groups', [...(l.groups || [])].sort()]]));

/** One SQL query's single value, through psql or the sqlite3 CLI. */
function sql(srv, q) {
  if (PG) {
    return execFileSync('psql', [srv.db, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', q],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }
  return sqliteCli(srv.dbPath, q);
}
function sqliteCli(file, q) {
  try {
    return execFileSync('sqlite3', ['-bail', '-cmd', '.timeout 10000', file, q],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('the sqlite3 command is missing: scripts/deps.sh test installs it');
    throw new Error(`sqlite3 ${file} "${q}": ${e.stderr || e.message}`);
  }
}

// ---- the model of what the clients were told ------------------------------------------------

/**
 * id → {id, tok, owner: worker index or null (shared), created: the create's body,
 *        acked: [answers], last: the newest known state, pending: {kind, body} | null,
 *        closeWins: number of 200s to a close}
 */
const leads = new Map();
/** Creates sent whose answer never came (the kill cut them off): {tok, key, body, worker}. */
let lostCreates = [];
let seq = 0;

let srv;
let c;            // the admin's client on the current server
let adminToken;
let reasons;
let dir;

function newLead(body, tok, owner) {
  const l = { id: body.id, tok, owner, acked: [body], last: body, pending: null, closeWins: 0 };
  leads.set(body.id, l);
  return l;
}

function createBody(tok, k) {
  return {
    full_name: `Kilo ${tok}`, company: `Crash Co ${k}`, city: pick(CITIES), value_cents: Math.floor(rnd() * 1e6),
  };
}

function closeBody(note) {
  const x = rnd();
  if (x < 0.45) return { outcome: 'lost', reason_id: pick(reasons).id, notes: note };
  if (x < 0.9) return { outcome: 'won', notes: note };
  return { outcome: 'treated', notes: note };
}

// ---- load ----------------------------------------------------------------------------------

/** One load round: CLIENTS workers writing until the kill; answers and cut-off requests recorded. */
async function loadAndKill(round, t) {
  const ctx = { stop: false, killed: false, inflight: 0, acked: 0, refused: {}, errorsBeforeKill: [], lastAckedCreate: null, problems: [] };
  const shared = [...leads.values()].filter((l) => l.owner === null && l.last.status === 'open').map((l) => l.id);

  // Sends one request; answers the response, or null when none came (the worker then stops).
  const send = async (fn) => {
    ctx.inflight += 1;
    try {
      const r = await fn();
      if (r.status >= 200 && r.status < 300) ctx.acked += 1;
      else ctx.refused[r.status] = [...(ctx.refused[r.status] || []), `${r.status} ${r.text.slice(0, 200)}`].slice(0, 3);
      return r;
    } catch (e) {
      if (!ctx.killed) ctx.errorsBeforeKill.push(e.message);
      return null;
    } finally { ctx.inflight -= 1; }
  };

  async function worker(k) {
    const mine = [...leads.values()].filter((l) => l.owner === k && l.last.status === 'open').map((l) => l.id);
    while (!ctx.stop) {
      const x = rnd();
      if (mine.length < 2 || x < 0.35) {
        seq += 1;
        const tok = `k9${RUN}r${round}w${pad(k, 2)}n${pad(seq, 6)}`;
        const body = createBody(tok, k);
        const key = `kill9-${tok}`;
        const r = await send(() => c.post('/api/v1/leads', body, { headers: { 'Idempotency-Key': key } }));
        if (!r) { lostCreates.push({ tok, key, body, worker: k }); return; }
        if (r.status === 201) {
          const l = newLead(r.body, tok, k);
          l.created = body;
          mine.push(l.id);
          ctx.lastAckedCreate = l.id;
        }
      } else if (x < 0.6) {
        const l = leads.get(pick(mine));
        const body = { city: pick(CITIES), value_cents: Math.floor(rnd() * 1e6) };
        l.pending = { kind: 'patch', body };
        const r = await send(() => c.patch(`/api/v1/leads/${l.id}`, body, { headers: { 'If-Match': String(l.last.version) } }));
        if (!r) return;
        l.pending = null;
        if (r.status === 200) { l.acked.push(r.body); l.last = r.body; }
      } else if (x < 0.8) {
        const i = Math.floor(rnd() * mine.length);
        const l = leads.get(mine[i]);
        const body = closeBody(`closed by worker ${k}`);
        l.pending = { kind: 'close', body };
        const r = await send(() => c.post(`/api/v1/leads/${l.id}/close`, body, { headers: { 'If-Match': String(l.last.version) } }));
        if (!r) return;
        l.pending = null;
        if (r.status === 200) { l.acked.push(r.body); l.last = r.body; l.closeWins += 1; mine.splice(i, 1); }
      } else if (x < 0.95 || !shared.length) {
        if (!shared.length) continue;
        // Racing PATCHes on the shared leads, without If-Match: each answer is one state in turn.
        const l = leads.get(pick(shared));
        const body = { city: pick(CITIES), value_cents: Math.floor(rnd() * 1e6) };
        const r = await send(() => c.patch(`/api/v1/leads/${l.id}`, body));
        if (!r) return;
        if (r.status === 200) l.acked.push(r.body);
      } else {
        // Racing closes on the shared leads: one 200 each, the others 409.
        const l = leads.get(pick(shared));
        const body = closeBody(`race by worker ${k}`);
        const r = await send(() => c.post(`/api/v1/leads/${l.id}/close`, body));
        if (!r) return;
        if (r.status === 200) { l.acked.push(r.body); l.closeWins += 1; }
        else if (r.status !== 409) ctx.problems.push(`closing a shared lead answered ${r.status}: ${r.text.slice(0, 300)}`);
      }
    }
  }

  const started = Date.now();
  const workers = Array.from({ length: CLIENTS }, (_, k) => worker(k));
  const killAt = KILL_WINDOW[0] + rnd() * (KILL_WINDOW[1] - KILL_WINDOW[0]);
  await sleep(killAt);
  ctx.killed = true;
  ctx.stop = true;
  const inflightAtKill = ctx.inflight;
  const ackedBeforeKill = ctx.acked;
  srv.proc.kill('SIGKILL');
  const ex = await srv.exited;
  await Promise.all(workers);
  t.diagnostic(`round ${round}: killed after ${Date.now() - started} ms with ${inflightAtKill} requests in flight; `
    + `${ctx.acked} acknowledged, refused: ${Object.keys(ctx.refused).join(' ') || 'none'}, ${lostCreates.length} creates cut off (seed ${SEED})`);
  // Found here, reported after the restart (so the next round still has a server).
  const p = ctx.problems;
  if (ex.signal !== 'SIGKILL') p.push(`the server ended before the kill (code ${ex.code}):\n${srv.output().slice(-3000)}`);
  if (ctx.errorsBeforeKill.length) p.push(`requests failed before the kill: ${ctx.errorsBeforeKill.slice(0, 5).join('; ')}`);
  // Refusals are the races' losers (409); anything else is a finding.
  if (Object.keys(ctx.refused).some((x) => x !== '409')) p.push(`refused: ${JSON.stringify(ctx.refused)}`);
  if (ackedBeforeKill < (PG ? 5 : 20)) p.push(`only ${ackedBeforeKill} writes acknowledged before the kill: the load did not run`);
  if (inflightAtKill === 0) p.push('no request was in flight at the kill: it did not hit the server mid-write');
  return ctx;
}

// ---- checks after a restart ------------------------------------------------------------------

async function allEvents() {
  const out = [];
  let after = '0';
  for (let i = 0; i < 10_000; i++) {
    const r = expectStatus(await c.get(`/api/v1/events?after=${after}&limit=1000`), 200, 'events feed');
    out.push(...r.items);
    if (!r.has_more) return out;
    assert.notEqual(r.next_cursor, after, 'events cursor did not move');
    after = r.next_cursor;
  }
  throw new Error('events feed did not end');
}

/** Polls a search until it answers 200 (503 while the index rebuilds); answers the items. */
async function search(q) {
  const end = Date.now() + SEARCH_WAIT_MS;
  for (;;) {
    const r = await c.get(`/api/v1/leads?q=${encodeURIComponent(q)}&status=all&owner=any&limit=50`);
    if (r.status !== 503) return items(r, `search ${q}`);
    assert.ok(Date.now() < end, `search still answered 503 after ${SEARCH_WAIT_MS} ms: ${r.text.slice(0, 300)}`);
    await sleep(200);
  }
}

async function restartAndCheck(round, t, ctx) {
  srv = await startServer({ dir, keepDir: true });
  c = client(srv, adminToken);
  // The session token was an acknowledged write too.
  expectStatus(await c.get('/api/v1/me'), 200, 'the session survives the kill');

  const problems = [...ctx.problems];
  const seen = { pending: 0, applied: 0, creates: 0, committed: 0, replayed: 0, keptNoAnswer: 0 };
  const bad = (msg) => { if (problems.length < 40) problems.push(msg); };

  const stored = new Map((await walk(c, '/api/v1/leads?status=all&owner=any', 500)).map((l) => [l.id, l]));
  const events = await allEvents();
  const evOf = new Map();
  for (const e of events) {
    if (e.lead_id == null) continue;
    if (!evOf.has(e.lead_id)) evOf.set(e.lead_id, []);
    evOf.get(e.lead_id).push(e);
  }
  const byName = new Map();
  for (const l of stored.values()) byName.set(l.full_name, [...(byName.get(l.full_name) || []), l]);

  // Creates the kill cut off: there once or not at all; if there, as sent, and now part of the model.
  for (const lc of lostCreates) {
    const found = byName.get(`Kilo ${lc.tok}`) || [];
    if (found.length > 1) { bad(`a cut-off create ${lc.tok} is there ${found.length} times`); continue; }
    lc.found = found[0] || null;
    if (!lc.found) continue;
    for (const f of ['full_name', 'company', 'city', 'value_cents']) {
      if (lc.found[f] !== lc.body[f]) bad(`cut-off create ${lc.tok} stored with ${f}=${lc.found[f]}, sent ${lc.body[f]}`);
    }
    if (lc.found.version !== 1) bad(`cut-off create ${lc.tok} has version ${lc.found.version}`);
  }

  for (const l of leads.values()) {
    const g = stored.get(l.id);
    if (!g) { bad(`lead ${l.id} (${l.tok || 'shared'}) was acknowledged (version ${l.last.version}) and is gone`); continue; }
    const ev = evOf.get(l.id) || [];
    // Every acknowledged answer: the stored version is not older, and at the same version the same state.
    for (const a of l.acked) {
      if (g.version < a.version) bad(`lead ${l.id}: acknowledged version ${a.version}, stored ${g.version}`);
      else if (g.version === a.version) {
        try { assert.deepEqual(pickFields(g), pickFields(a)); } catch {
          bad(`lead ${l.id} at version ${g.version} differs from its acknowledged answer: stored ${JSON.stringify(pickFields(g))}, answered ${JSON.stringify(pickFields(a))}`);
        }
      }
    }
    if (l.owner !== null) {
      // One client wrote this lead, one request at a time: it is as last answered, or the
      // cut-off request applied whole on top of that.
      if (!l.pending && g.version !== l.last.version) bad(`lead ${l.id}: nothing was in flight, yet version ${g.version} != ${l.last.version}`);
      if (l.pending) { seen.pending += 1; if (g.version !== l.last.version) seen.applied += 1; }
      if (l.pending && g.version !== l.last.version) {
        const p = l.pending;
        if (g.version < l.last.version) { /* reported above */ } else if (p.kind === 'patch') {
          if (g.city !== p.body.city || g.value_cents !== p.body.value_cents || g.status !== l.last.status) {
            bad(`lead ${l.id}: the cut-off PATCH applied in part: ${JSON.stringify(pickFields(g))} for ${JSON.stringify(p.body)}`);
          }
        } else if (g.status !== 'closed' || g.outcome !== p.body.outcome || g.close_notes !== p.body.notes
          || g.lost_reason_id !== (p.body.reason_id ?? null)) {
          bad(`lead ${l.id}: the cut-off close applied in part: ${JSON.stringify(pickFields(g))} for ${JSON.stringify(p.body)}`);
        }
      }
    } else if (l.closeWins > 1) bad(`shared lead ${l.id} was closed ${l.closeWins} times with 200`);
  }

  // Events agree with every lead we know of, acknowledged or cut off.
  const known = [...leads.keys(), ...lostCreates.filter((x) => x.found).map((x) => x.found.id)];
  for (const id of known) {
    const g = stored.get(id);
    if (!g) continue;
    const ev = evOf.get(id) || [];
    const created = ev.filter((e) => e.kind === 'created');
    if (created.length !== 1) bad(`lead ${id} has ${created.length} created events`);
    const closed = ev.filter((e) => e.kind === 'closed');
    if (closed.length !== (g.status === 'closed' ? 1 : 0)) bad(`lead ${id} is ${g.status} with ${closed.length} closed events`);
    if (closed.length === 1 && closed[0].data.outcome !== g.outcome) bad(`lead ${id}: closed event says ${closed[0].data.outcome}, lead ${g.outcome}`);
    const cityChanges = ev.filter((e) => e.kind === 'updated' && e.data.changes && e.data.changes.city);
    const first = leads.get(id)?.acked[0]?.city ?? lostCreates.find((x) => x.found && x.found.id === id)?.body.city;
    const expectCity = cityChanges.length ? cityChanges.at(-1).data.changes.city.new : first;
    if (g.city !== expectCity) bad(`lead ${id}: city ${g.city}, its events say ${expectCity}`);
  }

  // The database itself.
  const checks = [
    ['closed leads without their closed event',
      "SELECT count(*) FROM leads l WHERE l.status = 'closed' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.kind = 'closed')"],
    ['leads closed more than once (this test never reopens)',
      "SELECT count(*) FROM (SELECT lead_id FROM events WHERE kind = 'closed' GROUP BY lead_id HAVING count(*) > 1) x"],
    ['leads without their created event',
      "SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.kind = 'created')"],
    ['events of leads that are not there',
      'SELECT count(*) FROM events e WHERE e.lead_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = e.lead_id)'],
    ['leads whose status disagrees with outcome and closed_at',
      "SELECT count(*) FROM leads WHERE (status = 'closed') <> (outcome IS NOT NULL AND closed_at IS NOT NULL)"],
  ];
  if (PG) checks.push(['leads without their search row', 'SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM leads_fts f WHERE f.rowid = l.id)']);
  for (const [what, q] of checks) {
    const n = sql(srv, q);
    if (n !== '0') bad(`${what}: ${n}`);
  }
  if (!PG) {
    for (const file of [srv.dbPath, `${srv.dbPath}-search`]) {
      const ic = sqliteCli(file, 'PRAGMA integrity_check');
      if (ic !== 'ok') bad(`PRAGMA integrity_check of ${file}: ${ic.slice(0, 500)}`);
    }
    const fk = sqliteCli(srv.dbPath, 'PRAGMA foreign_key_check');
    if (fk !== '') bad(`PRAGMA foreign_key_check: ${fk.slice(0, 500)}`);
  }

  // Search finds acknowledged leads: the last one created before the kill, and a few others.
  const mineAcked = [...leads.values()].filter((l) => l.tok && l.tok.includes(`r${round}w`));
  const sample = new Set([ctx.lastAckedCreate, ...Array.from({ length: 4 }, () => pick(mineAcked)?.id)].filter(Boolean));
  for (const id of sample) {
    const l = leads.get(id);
    const hits = await search(l.tok);
    if (!hits.some((h) => h.id === id)) bad(`search for ${l.tok} does not find lead ${id}`);
  }

  // Sent again with its Idempotency-Key, an acknowledged create is answered, not made again…
  for (const id of [...sample].slice(0, 2)) {
    const l = leads.get(id);
    const r = await c.post('/api/v1/leads', l.created, { headers: { 'Idempotency-Key': `kill9-${l.tok}` } });
    if (r.status !== 201 || r.body?.id !== id) bad(`retrying acknowledged create ${l.tok}: ${r.status} id ${r.body?.id}, expected 201 id ${id}`);
  }
  // …and a cut-off create sent again gives exactly one lead: made now if the first did not
  // commit; if it did, its answer again (201, same id) or, when the kill came between its commit
  // and keeping its answer, 409 conflict — never a second lead.
  const cutoff = lostCreates;
  lostCreates = [];
  for (const lc of cutoff) {
    const r = await c.post('/api/v1/leads', lc.body, { headers: { 'Idempotency-Key': lc.key } });
    const committed = lc.found ? `committed as lead ${lc.found.id}` : 'not committed';
    seen.creates += 1;
    if (lc.found) seen.committed += 1;
    if (lc.found && r.status === 201 && r.body.id === lc.found.id) seen.replayed += 1;
    if (r.status === 409) seen.keptNoAnswer += 1;
    if (r.status === 201 && lc.found && r.body.id !== lc.found.id) {
      bad(`retrying cut-off create ${lc.tok} (${committed}) made another lead ${r.body.id}: its Idempotency-Key was not committed with it`);
    } else if (!(r.status === 201 || (r.status === 409 && lc.found && r.body?.error?.code === 'conflict'))) {
      bad(`retrying cut-off create ${lc.tok} (${committed}): ${r.status} ${r.text.slice(0, 200)}`);
    }
    const hits = (await search(lc.tok)).filter((h) => h.full_name === lc.body.full_name);
    if (hits.length !== 1) { bad(`after the retry, ${lc.tok} is there ${hits.length} times`); continue; }
    // The lead is now known: its worker goes on with it.
    if (!leads.has(hits[0].id)) { const n = newLead(hits[0], lc.tok, lc.worker); n.created = lc.body; }
  }

  t.diagnostic(`after kill ${round}: ${seen.applied} of ${seen.pending} cut-off PATCHes and closes applied; `
    + `${seen.committed} of ${seen.creates} cut-off creates committed, of which a retry answered ${seen.replayed} again `
    + `and ${seen.keptNoAnswer} with 409 (committed, answer not kept)`);
  // What is stored is now the truth the next round builds on (also when this round failed, so
  // that the next one reports its own findings only).
  for (const l of leads.values()) {
    const g = stored.get(l.id);
    if (g) { l.last = g; l.acked = [g]; }
    l.pending = null;
  }
  assert.deepEqual(problems, [], `after kill ${round} (seed ${SEED}):\n${problems.join('\n')}`);
}

// ---- the test --------------------------------------------------------------------------------

describe('kill -9 in the middle of concurrent writes', { timeout: FILE_TIMEOUT_MS }, () => {
  before(async () => {
    srv = await startServer({ keepDir: true });
    dir = srv.dir;
    await addUser(srv, { email: 'admin@kill9.test', name: 'Kim Admin', role: 'admin' });
    adminToken = (await login(srv, 'admin@kill9.test')).token;
    c = client(srv, adminToken);
    reasons = items(await c.get('/api/v1/lost-reasons'), 'lost reasons').filter((r) => r.active);
    assert.ok(reasons.length > 0, 'seeded lost reasons');
  });
  after(async () => {
    if (!srv) return;
    try {
      if (!srv.hasExited()) await srv.stop();
      if (!PG && srv.hasExited()) {
        // After a clean stop too, both files pass the check.
        for (const file of [srv.dbPath, `${srv.dbPath}-search`]) assert.equal(sqliteCli(file, 'PRAGMA integrity_check'), 'ok', file);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  for (let round = 1; round <= ROUNDS; round++) {
    it(`kill ${round}: every acknowledged write survives, cut-off writes are whole or absent, the database checks out`, async (t) => {
      assert.ok(!srv.hasExited(), 'the server is up (an earlier round failed to restart it)');
      // A few shared leads that the clients race on.
      for (let i = 0; i < 6; i++) {
        seq += 1;
        const tok = `k9${RUN}r${round}sh${pad(seq, 6)}`;
        const body = createBody(tok, 'shared');
        const l = newLead(expectStatus(await c.post('/api/v1/leads', body), 201, 'seed a shared lead'), tok, null);
        l.created = body;
      }
      const ctx = await loadAndKill(round, t);
      await restartAndCheck(round, t, ctx);
    });
  }
});
