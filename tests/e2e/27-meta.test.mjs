// 27-meta: GET /api/v1/meta, the server's record catalogue that clients (the web UI) build
// forms from: it must say what the server actually does — the lead fields a client may set are
// accepted, those it may not are ignored, required and length rules hold, every referenced list
// exists, and the task types and outcome kinds are accepted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, request, expectStatus, expectError, items, FILE_TIMEOUT_MS, isoNow, DAY, u } from './lib.mjs';

let w;
let admin;
let agent;
let meta;
before(async () => {
  w = await startWorld();
  ({ admin, agent } = w.users);
  meta = expectStatus(await agent.c.get('/api/v1/meta'), 200, 'meta');
});
after(async () => { if (w) await w.srv.stop(); });

const field = (name) => meta.lead_fields.find((f) => f.name === name);

describe('GET /api/v1/meta', { timeout: FILE_TIMEOUT_MS }, () => {
  it('needs a signed-in caller', async () => {
    expectError(await request(w.srv, 'GET', '/api/v1/meta'), 401, 'unauthorized', 'no token');
  });

  it('lists every field a lead answers (but id and version), each once, with its rules', async () => {
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Meta Lead' }), 201, 'create');
    const names = meta.lead_fields.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, 'no field twice');
    for (const n of names) assert.ok(n in lead, `lead answers ${n}`);
    const computed = new Set(['id', 'version', 'age_days', 'sla', 'groups', 'phones_display', 'win_probability', 'win_factors']);  // win_*: scoring's (docs/scoring.md)
    for (const k of Object.keys(lead)) if (!computed.has(k)) assert.ok(names.includes(k), `meta lists ${k}`);
    for (const f of meta.lead_fields) {
      for (const k of ['editable', 'required', 'nullable']) assert.equal(typeof f[k], 'boolean', `${f.name}.${k}`);
      assert.equal(typeof f.type, 'string', `${f.name}.type`);
    }
    assert.deepEqual(meta.lead_fields.filter((f) => f.required).map((f) => f.name), ['full_name']);
    assert.deepEqual(field('status').values, ['open', 'closed']);
  });

  it('a field marked editable is changed by PATCH; one that is not is left as it was', async () => {
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Edit Me', city: 'Graz' }), 201, 'create');
    const r = expectStatus(await agent.c.patch(`/api/v1/leads/${lead.id}`, { city: 'Linz', close_notes: 'sneaky', closed_at: isoNow() },
      { headers: { 'If-Match': String(lead.version) } }), 200, 'patch');
    assert.equal(field('city').editable, true);
    assert.equal(r.city, 'Linz', 'editable field changed');
    assert.equal(field('close_notes').editable, false);
    assert.equal(field('closed_at').editable, false);
    assert.equal(r.close_notes, null, 'non-editable field ignored');
    assert.equal(r.closed_at, null, 'non-editable field ignored');
  });

  it('required and max_length are the rules a create meets', async () => {
    expectError(await agent.c.post('/api/v1/leads', { company: 'No Name Ltd' }), 422, 'validation_failed', 'missing full_name');
    const max = field('full_name').max_length;
    assert.ok(Number.isInteger(max) && max > 0, 'full_name has a max_length');
    expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'x'.repeat(max) }), 201, 'at the limit');
    const r = await agent.c.post('/api/v1/leads', { full_name: 'x'.repeat(max + 1) });
    expectError(r, 422, 'validation_failed', 'over the limit');
    assert.ok(r.body.error.fields.full_name, 'full_name named');
  });

  it('every referenced list exists and can be read', async () => {
    const refs = [...new Set(meta.lead_fields.filter((f) => f.type === 'ref').map((f) => f.ref))];
    assert.ok(refs.includes('users') && refs.includes('lost-reasons'), JSON.stringify(refs));
    for (const ref of refs.filter((x) => x !== 'leads')) items(await admin.c.get(`/api/v1/${ref}`), ref);
  });

  it('every task type is accepted, and the outcome kinds are those outcomes may have', async () => {
    assert.ok(meta.task_types.includes('call') && meta.task_types.includes('closed_lost_follow_up'), JSON.stringify(meta.task_types));
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Tasks Lead' }), 201, 'create');
    for (const type of meta.task_types) {
      const t = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/tasks`, { type, title: `A ${type}`, due_at: isoNow(DAY) }), 201, type);
      assert.equal(t.type, type);
    }
    assert.deepEqual([...meta.outcome_kinds].sort(), ['lost', 'neutral', 'won']);
    const seeded = items(await agent.c.get('/api/v1/outcomes'), 'outcomes');
    for (const o of seeded) assert.ok(meta.outcome_kinds.includes(o.kind), o.key);
    for (const kind of meta.outcome_kinds) {
      expectStatus(await admin.c.post('/api/v1/outcomes', { key: u('k_').toLowerCase(), name: u('Kind '), kind }), 201, kind);
    }
    expectError(await admin.c.post('/api/v1/outcomes', { key: u('k_').toLowerCase(), name: u('Bad '), kind: 'maybe' }), 422, 'validation_failed', 'unknown kind');
  });
});
