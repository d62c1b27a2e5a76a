// 55-scoring: lead scoring (docs/scoring.md) — the admin's rules (everyone reads, admins write,
// If-Match, 422 naming the field, an audit event), the score they give kept by the applier on
// every change (create, PATCH, a message from the lead) and rewritten for every lead when the
// rules change; the win probability learned from a made-up closed history whose answer is known
// (source A wins 80%, source B 20%): a new lead from A gets the higher estimate, equal to the
// naive Bayes computed here, with the source named as its strongest factor; both sortable.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, byName, u, isoNow, DAY, FILE_TIMEOUT_MS, until } from './lib.mjs';

let w, admin, agent, srcA, srcB, stages;
before(async () => {
  w = await startWorld();
  admin = w.users.admin.c;
  agent = w.users.agent.c;
  srcA = expectStatus(await admin.post('/api/v1/sources', { name: `Alpha ${u()}` }), 201);
  srcB = expectStatus(await admin.post('/api/v1/sources', { name: `Beta ${u()}` }), 201);
  stages = items(await admin.get('/api/v1/stages'));
});
after(async () => { if (w) await w.srv.stop(); });

const lead = async (c, body) => expectStatus(await c.post('/api/v1/leads', { full_name: `S ${u()}`, ...body }), 201);
const get = async (id) => expectStatus(await admin.get(`/api/v1/leads/${id}`), 200);
const jobDone = async (id) => until(`job ${id}`, async () => {
  const j = expectStatus(await admin.get(`/api/v1/jobs/${id}`), 200);
  assert.notEqual(j.status, 'failed', j.last_error || 'scoring job failed');
  return j.status === 'done' && j;
});

describe('scoring rules', { timeout: FILE_TIMEOUT_MS }, () => {
  it('everyone reads them; only an admin writes, with If-Match; bad rules are 422 naming the field; each change is an event', async () => {
    const r0 = expectStatus(await agent.get('/api/v1/scoring/rules'), 200);
    assert.equal(r0.enabled, false, 'off until an admin turns them on');
    assert.deepEqual(r0.sources, []);
    expectError(await agent.put('/api/v1/scoring/rules', { enabled: true }), 403, 'forbidden');
    let e = expectError(await admin.put('/api/v1/scoring/rules', { enabled: true, stages: [{ id: 999999, points: 5 }] }), 422, 'validation_failed');
    assert.ok(e.fields['stages[0].id'], JSON.stringify(e));
    e = expectError(await admin.put('/api/v1/scoring/rules', { enabled: true, bonus: 3 }), 422, 'validation_failed');
    assert.ok(e.fields.bonus);
    e = expectError(await admin.put('/api/v1/scoring/rules', { age: [{ max_days: 30, points: 1 }, { max_days: 5, points: 2 }] }), 422, 'validation_failed');
    assert.ok(e.fields['age[1].max_days']);
    e = expectError(await admin.put('/api/v1/scoring/rules', { fields: [{ field: 'shoe_size', points: 1 }] }), 422, 'validation_failed');
    assert.ok(e.fields['fields[0].field']);
    expectError(await admin.put('/api/v1/scoring/rules', { sources: [{ id: srcA.id, points: 5000 }] }), 422, 'validation_failed');
    assert.equal(expectStatus(await agent.get('/api/v1/scoring/rules'), 200).version, r0.version, 'a refused change changes nothing');
    expectError(await admin.put('/api/v1/scoring/rules', { enabled: false }, { headers: { 'If-Match': String(r0.version + 7) } }), 412, 'version_mismatch');
    const r1 = expectStatus(await admin.put('/api/v1/scoring/rules', { enabled: false, sources: [{ id: srcA.id, points: 7 }] },
      { headers: { 'If-Match': String(r0.version) } }), 200);
    assert.equal(r1.version, r0.version + 1);
    assert.deepEqual(r1.sources, [{ id: srcA.id, points: 7 }]);
    assert.equal(r1.updated_by, w.users.admin.id);
    const ev = items(await admin.get('/api/v1/events?after=0&limit=500')).filter((x) => x.kind === 'scoring_rules_updated');
    assert.equal(ev.length, 1);
    assert.deepEqual(ev[0].data.changes.sources, { old: [], new: [{ id: srcA.id, points: 7 }] });
    assert.equal(ev[0].actor_id, w.users.admin.id);
  });
});

describe('score', { timeout: FILE_TIMEOUT_MS }, () => {
  it('follows every change of the lead, and every lead follows a change of the rules', async () => {
    const contacted = byName(stages, 'Contacted').id;
    const rules = {
      enabled: true,
      sources: [{ id: srcA.id, points: 20 }],
      stages: [{ id: contacted, points: 15 }],
      fields: [{ field: 'email', points: 5 }, { field: 'phone', points: 3 }],
      recent_activity: { days: 7, points: 10 },
      age: [{ max_days: 5, points: 10 }, { max_days: null, points: -10 }],
    };
    const saved = expectStatus(await admin.put('/api/v1/scoring/rules', rules), 200);
    assert.equal(saved.enabled, true);
    const email = `sc.${u()}@example.com`;
    const a = await lead(agent, { source_id: srcA.id, emails: [email], score: 999 });
    assert.equal(a.score, 20 + 5 + 10, 'source + email + new; a score sent is replaced by the computed one');
    const old = await lead(admin, { source_id: srcA.id, owner_id: w.users.agent.id, created_at: isoNow(-60 * DAY) });
    assert.equal(old.score, 20 - 10, 'an old lead loses points');
    let p = expectStatus(await agent.patch(`/api/v1/leads/${a.id}`, { phones: ['+14155550111'], score: 1 }), 200);
    assert.equal(p.score, 38);
    p = expectStatus(await agent.patch(`/api/v1/leads/${a.id}`, { stage_id: contacted }), 200);
    assert.equal(p.score, 53, 'the stage gives points');
    // a message from the lead: recent activity
    const before = await get(a.id);
    expectStatus(await admin.post('/api/v1/inbound/email', { from: email, to: 'sales@leadpath.test', subject: 'Hello',
      body: 'Any news?', message_id: `sc-${u()}@example.com` }), 200);
    const after = await get(a.id);
    assert.equal(after.score, 63, 'a message from the lead within 7 days');
    assert.ok(after.version > before.version, 'a new score is a new version');
    // the rules change: every open lead is rescored by the run the change queues
    const r2 = expectStatus(await admin.put('/api/v1/scoring/rules', { ...rules, sources: [{ id: srcA.id, points: 50 }] }), 200);
    assert.equal(r2.sources[0].points, 50);
    await until('rescored', async () => (await get(a.id)).score === 93 && (await get(old.id)).score === 40);
    // the list sorts by it through the same value
    const list = items(await admin.get('/api/v1/leads?owner=any&sort=-score&limit=500'));
    const pos = (id) => list.findIndex((l) => l.id === id);
    assert.ok(pos(a.id) >= 0 && pos(a.id) < pos(old.id));
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].score >= list[i].score, '-score non-increasing');
    expectStatus(await admin.put('/api/v1/scoring/rules', { enabled: false }), 200);
  });
});

// The naive Bayes the server should compute (Laplace smoothing, the prior smoothed too).
function nb(model, feats) {
  let logit = Math.log((model.won + 1) / (model.lost + 1));
  const weights = {};
  for (const f of model.features) {
    const cell = f.values.find((v) => v.value === (feats[f.feature] ?? ''));
    const k = f.values.length + (cell ? 0 : 1);
    const w = Math.log(((cell?.won ?? 0) + 1) / (model.won + k)) - Math.log(((cell?.lost ?? 0) + 1) / (model.lost + k));
    weights[f.feature] = w;
    logit += w;
  }
  return { p: 1 / (1 + Math.exp(-logit)), weights };
}

describe('win probability', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  it('is learned from the closed history: source A (80% won) beats source B (20%), the source named as the reason', async () => {
    const closed = (source, outcome, i) => lead(admin, { full_name: `H ${outcome} ${i} ${u()}`, source_id: source, owner_id: w.users.agent.id,
      country: 'NO', status: 'closed', outcome, created_at: isoNow(-40 * DAY), closed_at: isoNow(-30 * DAY) });
    // no model yet: no estimate
    const early = await lead(agent, { source_id: srcA.id });
    assert.equal(early.win_probability, null);
    assert.deepEqual(early.win_factors, []);
    const m0 = expectStatus(await agent.get('/api/v1/scoring/model'), 200);
    assert.equal(m0.trained, false);
    for (let i = 0; i < 10; i++) {
      await closed(srcA.id, i < 8 ? 'won' : 'lost', i);
      await closed(srcB.id, i < 2 ? 'won' : 'lost', i);
    }
    expectError(await agent.post('/api/v1/scoring/run'), 403, 'forbidden');
    const run = expectStatus(await admin.post('/api/v1/scoring/run'), 202);
    const job = await jobDone(run.job_id);
    assert.equal(job.kind, 'scoring');
    assert.equal(job.result.trained, true);
    const model = expectStatus(await agent.get('/api/v1/scoring/model'), 200);
    assert.equal(model.trained, true);
    assert.equal(model.won, 10);
    assert.equal(model.lost, 10);
    const source = model.features.find((f) => f.feature === 'source');
    assert.deepEqual(source.values.find((v) => v.value === String(srcA.id)), { value: String(srcA.id), label: srcA.name, won: 8, lost: 2 });
    // the open lead made before the model got its estimate from the run
    const e2 = await get(early.id);
    assert.ok(e2.win_probability > 0.5, `early lead: ${e2.win_probability}`);
    // new leads get theirs when they are created
    const fromA = await lead(agent, { source_id: srcA.id, country: 'NO' });
    const fromB = await lead(agent, { source_id: srcB.id, country: 'NO' });
    assert.ok(fromA.win_probability > fromB.win_probability, `${fromA.win_probability} > ${fromB.win_probability}`);
    const want = nb(model, { source: String(srcA.id), owner: String(w.users.agent.id), country: 'NO' });
    assert.ok(Math.abs(fromA.win_probability - want.p) < 0.0001, `A: ${fromA.win_probability} vs ${want.p}`);
    const wantB = nb(model, { source: String(srcB.id), owner: String(w.users.agent.id), country: 'NO' });
    assert.ok(Math.abs(fromB.win_probability - wantB.p) < 0.0001, `B: ${fromB.win_probability} vs ${wantB.p}`);
    assert.equal(fromA.win_factors[0].feature, 'source');
    assert.equal(fromA.win_factors[0].label, srcA.name);
    assert.equal(fromA.win_factors[0].direction, 'up');
    assert.equal(fromB.win_factors[0].feature, 'source');
    assert.equal(fromB.win_factors[0].direction, 'down');
    assert.ok(Math.abs(fromA.win_factors[0].weight - want.weights.source) < 0.001);
    // a change of source moves it at once
    const moved = expectStatus(await agent.patch(`/api/v1/leads/${fromB.id}`, { source_id: srcA.id }), 200);
    assert.ok(Math.abs(moved.win_probability - fromA.win_probability) < 0.0001);
    expectStatus(await agent.patch(`/api/v1/leads/${fromB.id}`, { source_id: srcB.id }), 200);
    // sortable, both directions, over the list and through the cursor
    const desc = items(await admin.get('/api/v1/leads?owner=any&sort=-win_probability&limit=500'));
    const at = (id) => desc.findIndex((l) => l.id === id);
    assert.ok(at(fromA.id) < at(fromB.id));
    const val = (l) => l.win_probability ?? -1;
    for (let i = 1; i < desc.length; i++) assert.ok(val(desc[i - 1]) >= val(desc[i]));
    const page1 = expectStatus(await admin.get('/api/v1/leads?owner=any&sort=win_probability&limit=2'), 200);
    assert.ok(page1.next_cursor);
    const page2 = expectStatus(await admin.get(`/api/v1/leads?owner=any&sort=win_probability&limit=2&cursor=${page1.next_cursor}`), 200);
    assert.ok(val(page2.items[0]) >= val(page1.items[1]));
    // the training is on the record
    const ev = items(await admin.get('/api/v1/events?after=0&limit=500')).filter((x) => x.kind === 'win_model_trained');
    assert.ok(ev.length >= 1);
    assert.equal(ev[ev.length - 1].data.won, 10);
  });
});
