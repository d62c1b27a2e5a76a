// 04-leads-crud: create/read/update/delete of leads — defaults, validation (422 with fields),
// normalisation of emails and phones, If-Match (412), Idempotency-Key, soft delete.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, expectStatus, expectError, items, strs, isoNow, DAY, FILE_TIMEOUT_MS, walk,
} from './lib.mjs';

let w;
let admin;
let agent;
before(async () => { w = await startWorld(); ({ admin, agent } = w.users); });
after(async () => { if (w) await w.srv.stop(); });

const allIds = async (c) => (await walk(c, '/api/v1/leads?owner=any&status=all', 500)).map((l) => l.id);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('leads CRUD', { timeout: FILE_TIMEOUT_MS }, () => {
  it('POST creates a lead: 201, owner = creator, status open, version 1, first stage "New", timestamps', async () => {
    const stages = items(await agent.c.get('/api/v1/stages'), 'stages');
    const first = [...stages].sort((a, b) => a.position - b.position)[0];
    assert.equal(first.name, 'New');
    const r = await agent.c.post('/api/v1/leads', {
      full_name: 'Grace Hopper', company: 'Navy', request: 'Needs a compiler', value_cents: 125000, currency: 'EUR',
    });
    const l = expectStatus(r, 201, 'create');
    assert.equal(typeof l.id, 'number');
    assert.equal(l.full_name, 'Grace Hopper');
    assert.equal(l.company, 'Navy');
    assert.equal(l.request, 'Needs a compiler');
    assert.equal(l.value_cents, 125000);
    assert.equal(l.currency, 'EUR');
    assert.equal(l.owner_id, agent.id, 'owner defaults to the creator');
    assert.equal(l.status, 'open');
    assert.equal(l.version, 1);
    assert.equal(l.stage_id, first.id, 'stage defaults to the first stage');
    assert.equal(l.outcome, null);
    assert.equal(l.closed_at, null);
    assert.match(l.created_at, RFC3339);
    assert.match(l.updated_at, RFC3339);
    assert.ok(Math.abs(Date.parse(l.created_at) - Date.now()) < 120_000, 'created_at is now');
    assert.equal(l.age_days, 0);
    assert.equal(l.sla, 'ok');
    assert.ok(Array.isArray(l.groups), 'groups is an array');
    const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200, 'GET');
    assert.deepEqual(g, l, 'GET answers the same lead as the create');
  });

  it('full_name is required: missing, empty or blank answers 422 with fields.full_name and creates nothing', async () => {
    const before = (await allIds(admin.c)).length;
    for (const body of [{ company: 'Acme' }, { full_name: '' }, { full_name: '   ' }, { full_name: null }]) {
      const e = expectError(await agent.c.post('/api/v1/leads', body), 422, 'validation_failed', JSON.stringify(body));
      assert.ok(e.fields && 'full_name' in e.fields, `fields.full_name for ${JSON.stringify(body)}`);
    }
    assert.equal((await allIds(admin.c)).length, before);
  });

  it('a bad email answers 422 with fields.emails', async () => {
    for (const bad of ['not-an-email', 'a@', '@b.com', 'a b@c.com']) {
      const e = expectError(await agent.c.post('/api/v1/leads', { full_name: 'Bad Mail', emails: ['ok@example.com', bad] }),
        422, 'validation_failed', bad);
      assert.ok(e.fields && 'emails' in e.fields, `fields.emails for ${bad}: ${JSON.stringify(e.fields)}`);
    }
  });

  it('a bad phone answers 422 with fields.phones', async () => {
    const e = expectError(await agent.c.post('/api/v1/leads', { full_name: 'Bad Phone', phones: ['call me maybe'] }),
      422, 'validation_failed');
    assert.ok(e.fields && 'phones' in e.fields, JSON.stringify(e.fields));
  });

  it('wrong types answer 422 naming the field', async () => {
    for (const [field, value] of [['value_cents', 'lots'], ['emails', 'a@b.com'], ['full_name', 42], ['owner_id', 'me'], ['stage_id', 'New']]) {
      const e = expectError(await agent.c.post('/api/v1/leads', { full_name: 'Typed', [field]: value }),
        422, 'validation_failed', `${field}=${JSON.stringify(value)}`);
      assert.ok(e.fields && field in e.fields, `fields.${field}: ${JSON.stringify(e.fields)}`);
    }
  });

  it('references to unknown stage/source/owner answer 422 naming the field', async () => {
    for (const field of ['stage_id', 'source_id', 'owner_id', 'location_id', 'partner_id']) {
      const e = expectError(await admin.c.post('/api/v1/leads', { full_name: 'Dangling', [field]: 987654 }),
        422, 'validation_failed', field);
      assert.ok(e.fields && field in e.fields, `fields.${field}: ${JSON.stringify(e.fields)}`);
    }
  });

  it('PATCH with a wrong type answers 422 naming the field and changes nothing', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Typed Patch', score: 3 }), 201);
    for (const [field, value] of [['score', 'high'], ['email_opt_out', 'yes'], ['phones', '+14155550100']]) {
      const e = expectError(await agent.c.patch(`/api/v1/leads/${l.id}`, { [field]: value, city: 'Changed' }), 422, 'validation_failed', field);
      assert.ok(field in e.fields, `fields.${field}: ${JSON.stringify(e.fields)}`);
    }
    const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g.score, 3);
    assert.equal(g.city ?? null, null);
    assert.equal(g.version, 1);
  });

  it('unknown JSON fields are ignored', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Extra Fields', favourite_colour: 'teal' }), 201);
    assert.ok(!('favourite_colour' in l));
  });

  it('emails are trimmed and lower-cased; phones become E.164 where the country is known', async () => {
    const r = await agent.c.post('/api/v1/leads', {
      full_name: 'Norm Alised', country: 'US',
      emails: ['  Norm.Alised@Example.COM ', 'SECOND@example.org'],
      phones: ['(415) 555-0132', '+1 212-555-0199'],
    });
    const l = expectStatus(r, 201);
    assert.deepEqual(strs(l.emails), ['norm.alised@example.com', 'second@example.org']);
    assert.deepEqual(strs(l.phones), ['+14155550132', '+12125550199']);
    const gb = expectStatus(await agent.c.post('/api/v1/leads', {
      full_name: 'Brit Ish', country: 'GB', phones: ['020 7946 0018'] }), 201);
    assert.deepEqual(strs(gb.phones), ['+442079460018'], 'national GB number with trunk 0 → E.164');
    const intl = expectStatus(await agent.c.post('/api/v1/leads', {
      full_name: 'No Country', phones: ['+44 20 7946 0019'] }), 201);
    assert.deepEqual(strs(intl.phones), ['+442079460019'], 'an international number needs no country');
    // Normalised on PATCH too.
    const p = expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { emails: ['NEW@Example.com'], phones: ['415.555.0100'] }), 200);
    assert.deepEqual(strs(p.emails), ['new@example.com']);
    assert.deepEqual(strs(p.phones), ['+14155550100']);
  });

  it('PATCH changes only the given fields and increments version; updated_at moves', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Patch Me', company: 'Keep Co', city: 'Oslo' }), 201);
    await new Promise((r) => setTimeout(r, 1100));
    const p = expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Bergen', score: 42 }), 200);
    assert.equal(p.city, 'Bergen');
    assert.equal(p.score, 42);
    assert.equal(p.company, 'Keep Co', 'untouched field kept');
    assert.equal(p.full_name, 'Patch Me');
    assert.equal(p.version, 2);
    assert.ok(Date.parse(p.updated_at) > Date.parse(l.updated_at), 'updated_at moves forward');
    assert.equal(p.created_at, l.created_at, 'created_at stays');
    const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g.city, 'Bergen');
    assert.equal(g.version, 2);
    // Clearing a field with null.
    const c = expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { company: null }), 200);
    assert.equal(c.company, null);
    assert.equal(c.version, 3);
    // PATCH validates too, and a refused PATCH changes nothing.
    const e = expectError(await agent.c.patch(`/api/v1/leads/${l.id}`, { full_name: '', city: 'Tromsø' }), 422, 'validation_failed');
    assert.ok('full_name' in e.fields);
    const g2 = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g2.city, 'Bergen');
    assert.equal(g2.version, 3);
  });

  it('If-Match with a stale version answers 412 version_mismatch and changes nothing; the right version succeeds', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Race Condition', city: 'Paris' }), 201);
    expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Lyon' }, { headers: { 'If-Match': '1' } }), 200, 'If-Match current');
    const stale = await agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Nice', company: 'Stale Co' }, { headers: { 'If-Match': '1' } });
    expectError(stale, 412, 'version_mismatch', 'stale If-Match');
    const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g.city, 'Lyon', 'nothing changed');
    assert.equal(g.company ?? null, null, 'nothing changed');
    assert.equal(g.version, 2);
    // A stale close changes nothing either.
    const cl = await agent.c.post(`/api/v1/leads/${l.id}/close`, { outcome: 'treated' }, { headers: { 'If-Match': '1' } });
    expectError(cl, 412, 'version_mismatch', 'stale close');
    const g2 = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g2.status, 'open');
    assert.equal(g2.version, 2);
    const ok = expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Nice' }, { headers: { 'If-Match': '2' } }), 200);
    assert.equal(ok.version, 3);
  });

  it('Idempotency-Key: a retry with the same key and body returns the first answer and creates nothing new', async () => {
    const before = await allIds(admin.c);
    const body = { full_name: 'Once Only', emails: ['once@example.com'] };
    const headers = { 'Idempotency-Key': 'e2e-key-once-1' };
    const r1 = await agent.c.post('/api/v1/leads', body, { headers });
    const l1 = expectStatus(r1, 201, 'first');
    const r2 = await agent.c.post('/api/v1/leads', body, { headers });
    assert.equal(r2.status, r1.status, 'same status');
    assert.deepEqual(r2.body, r1.body, 'same body');
    const after = await allIds(admin.c);
    assert.equal(after.length, before.length + 1, 'exactly one lead created');
    assert.ok(after.includes(l1.id));
    // A different key creates a new lead.
    const r3 = await agent.c.post('/api/v1/leads', body, { headers: { 'Idempotency-Key': 'e2e-key-once-2' } });
    const l3 = expectStatus(r3, 201);
    assert.notEqual(l3.id, l1.id);
  });

  it('If-Match under concurrency: of two PATCHes with the same version exactly one wins, the other answers 412', async () => {
    for (let round = 0; round < 5; round++) {
      const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Race ${round}` }), 201);
      const [a, b] = await Promise.all([
        agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Left' }, { headers: { 'If-Match': '1' } }),
        agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Right' }, { headers: { 'If-Match': '1' } }),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 412], `round ${round}: one 200 and one 412, got ${statuses}`);
      const winner = a.status === 200 ? 'Left' : 'Right';
      const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(g.city, winner, "the winner's change stands");
      assert.equal(g.version, 2);
    }
  });

  it('parallel PATCHes of different fields without If-Match lose no update', async () => {
    for (let round = 0; round < 5; round++) {
      const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Merge ${round}` }), 201);
      const rs = await Promise.all([
        agent.c.patch(`/api/v1/leads/${l.id}`, { city: `City ${round}` }),
        agent.c.patch(`/api/v1/leads/${l.id}`, { company: `Company ${round}` }),
        agent.c.patch(`/api/v1/leads/${l.id}`, { score: round + 10 }),
      ]);
      for (const r of rs) expectStatus(r, 200, 'parallel PATCH');
      const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(g.city, `City ${round}`);
      assert.equal(g.company, `Company ${round}`);
      assert.equal(g.score, round + 10);
      assert.equal(g.version, 4, 'each PATCH bumped the version once');
      // Each answer shows at least its own change (it may also show a later one).
      assert.equal(rs[0].body.city, `City ${round}`);
      assert.equal(rs[1].body.company, `Company ${round}`);
      assert.equal(rs[2].body.score, round + 10);
      for (const r of rs) assert.ok(r.body.version >= 2 && r.body.version <= 4, `answered version ${r.body.version}`);
    }
  });

  it('Idempotency-Key: parallel retries with the same key create one lead', async () => {
    const before = (await allIds(admin.c)).length;
    const body = { full_name: 'Parallel Once' };
    const headers = { 'Idempotency-Key': 'e2e-parallel-key' };
    const rs = await Promise.all([1, 2, 3, 4].map(() => agent.c.post('/api/v1/leads', body, { headers })));
    const created = rs.filter((r) => r.status === 201);
    assert.ok(created.length >= 1, `at least one 201: ${rs.map((r) => r.status)}`);
    for (const r of rs) assert.ok([201, 409].includes(r.status), `201 or 409 (in progress), got ${r.status}`);
    assert.equal(new Set(created.map((r) => r.body.id)).size, 1, 'every 201 names the same lead');
    assert.equal((await allIds(admin.c)).length, before + 1, 'one lead created');
  });

  it('Idempotency-Key also covers task creation', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Idem Tasks' }), 201);
    const body = { type: 'call', title: 'Once', due_at: isoNow(DAY) };
    const headers = { 'Idempotency-Key': 'e2e-task-key' };
    const a = expectStatus(await agent.c.post(`/api/v1/leads/${l.id}/tasks`, body, { headers }), 201);
    const b = await agent.c.post(`/api/v1/leads/${l.id}/tasks`, body, { headers });
    assert.equal(b.status, 201);
    assert.equal(b.body.id, a.id, 'same task answered');
    const ts = await walk(agent.c, `/api/v1/tasks?lead=${l.id}&status=all`, 500);
    assert.equal(ts.length, 1);
  });

  it('PATCH cannot close or reopen a lead behind the close rules (status/outcome are not writable)', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Sneaky Close' }), 201);
    const r = await agent.c.patch(`/api/v1/leads/${l.id}`, { status: 'closed', outcome: 'lost', closed_at: isoNow(0) });
    assert.ok([200, 422].includes(r.status), `ignored (200) or refused (422), got ${r.status}`);
    const g = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(g.status, 'open');
    assert.equal(g.outcome, null);
    assert.equal(g.closed_at, null);
  });

  it('Idempotency-Key: keys of different users do not collide', async () => {
    const headers = { 'Idempotency-Key': 'shared-key-42' };
    const a = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Key A' }, { headers }), 201);
    const b = expectStatus(await w.users.other.c.post('/api/v1/leads', { full_name: 'Key A' }, { headers }), 201);
    assert.notEqual(a.id, b.id, 'another user with the same key gets its own lead');
    assert.equal(b.owner_id, w.users.other.id);
  });

  it('DELETE removes the lead: GET 404, gone from every list; others stay', async () => {
    const a = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Doomed Lead' }), 201);
    const b = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Survivor Lead' }), 201);
    const d = await admin.c.del(`/api/v1/leads/${a.id}`);
    assert.ok([200, 204].includes(d.status), `DELETE: ${d.status} ${d.text}`);
    expectError(await admin.c.get(`/api/v1/leads/${a.id}`), 404, 'not_found', 'GET deleted');
    expectError(await admin.c.patch(`/api/v1/leads/${a.id}`, { city: 'x' }), 404, 'not_found', 'PATCH deleted');
    expectError(await admin.c.del(`/api/v1/leads/${a.id}`), 404, 'not_found', 'DELETE twice');
    for (const q of ['status=all&owner=any', 'status=open&owner=any', 'owner=me', 'q=Doomed&owner=any&status=all']) {
      const ids = (await walk(admin.c, `/api/v1/leads?${q}`, 500)).map((l) => l.id);
      assert.ok(!ids.includes(a.id), `deleted lead absent from ?${q}`);
    }
    const ids = await allIds(admin.c);
    assert.ok(ids.includes(b.id));
  });

  it('an agent may not delete a lead (403), and it stays', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Agent Cannot Delete' }), 201);
    expectError(await agent.c.del(`/api/v1/leads/${l.id}`), 403, 'forbidden');
    expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200);
  });

  it('an admin may create a lead with created_at (history); a non-admin giving created_at gets it ignored', async () => {
    const past = isoNow(-40 * DAY);
    const a = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Old History', created_at: past }), 201);
    assert.equal(a.created_at, past);
    assert.ok(a.age_days >= 39 && a.age_days <= 41, `age_days ~40, got ${a.age_days}`);
    const n = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Agent Backdate', created_at: past }), 201);
    assert.ok(Math.abs(Date.parse(n.created_at) - Date.now()) < 120_000, `created_at ignored for agent: ${n.created_at}`);
  });

  it('timestamps given with an offset are answered in UTC (RFC 3339 with Z)', async () => {
    const a = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Offset Time', created_at: '2026-01-15T10:00:00+02:00' }), 201);
    assert.equal(a.created_at, '2026-01-15T08:00:00Z');
    const t = expectStatus(await admin.c.post(`/api/v1/leads/${a.id}/tasks`,
      { type: 'call', title: 'Offset', due_at: '2030-06-01T09:30:00-04:00' }), 201);
    assert.equal(t.due_at, '2030-06-01T13:30:00Z');
    const e = expectError(await admin.c.post('/api/v1/leads', { full_name: 'Bad Time', created_at: '15/01/2026' }), 422, 'validation_failed');
    assert.ok('created_at' in e.fields);
  });

  it('currency must be an ISO 4217 code (422 fields.currency otherwise)', async () => {
    const e = expectError(await agent.c.post('/api/v1/leads', { full_name: 'Money', value_cents: 100, currency: 'euro' }), 422, 'validation_failed');
    assert.ok('currency' in e.fields);
  });

  it('an admin may migrate closed history (status, outcome, closed_at); an agent giving them gets an open lead', async () => {
    const closedAt = isoNow(-3 * DAY);
    const h = expectStatus(await admin.c.post('/api/v1/leads', {
      full_name: 'Closed History', status: 'closed', outcome: 'won', closed_at: closedAt, created_at: isoNow(-10 * DAY) }), 201);
    assert.equal(h.status, 'closed');
    assert.equal(h.outcome, 'won');
    assert.equal(h.closed_at, closedAt);
    const found = (await walk(admin.c, `/api/v1/leads?owner=any&status=closed&closed_to=${isoNow(-2 * DAY)}`, 500)).map((x) => x.id);
    assert.ok(found.includes(h.id), 'found by closed_to');
    const n = await agent.c.post('/api/v1/leads', { full_name: 'Agent History', status: 'closed', outcome: 'won', closed_at: closedAt });
    assert.ok([201, 403, 422].includes(n.status), `agent history: ${n.status}`);
    if (n.status === 201) {
      assert.equal(n.body.status, 'open', 'ignored for a non-admin');
      assert.equal(n.body.outcome, null);
    }
  });

  it('an admin may create a lead owned by someone else; source/location/partner references are kept', async () => {
    const sources = items(await admin.c.get('/api/v1/sources'));
    const src = sources[0] || expectStatus(await admin.c.post('/api/v1/sources', { name: 'Web' }), 201);
    const l = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Assigned', owner_id: agent.id, source_id: src.id }), 201);
    assert.equal(l.owner_id, agent.id);
    assert.equal(l.source_id, src.id);
    expectStatus(await agent.c.get(`/api/v1/leads/${l.id}`), 200, 'the owner sees it');
  });
});
