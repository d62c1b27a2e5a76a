// 07-config: the configurable lists (stages, outcomes, lost reasons, sources, locations,
// partners, groups) with their seeded defaults, creating and patching them, and settings.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, expectStatus, expectError, items, byName, isoNow, DAY, FILE_TIMEOUT_MS,
} from './lib.mjs';

let w;
let admin;
let agent;
before(async () => { w = await startWorld(); ({ admin, agent } = w.users); });
after(async () => { if (w) await w.srv.stop(); });

describe('configurable lists and settings', { timeout: FILE_TIMEOUT_MS }, () => {
  it('seeded stages: New, Contacted, Waiting for more information (waiting), Quoted, Sold (is_sale), in that order', async () => {
    const st = items(await agent.c.get('/api/v1/stages'), 'stages');
    const names = [...st].sort((a, b) => a.position - b.position).map((s) => s.name);
    const want = ['New', 'Contacted', 'Waiting for more information', 'Quoted', 'Sold'];
    assert.deepEqual(names.filter((n) => want.includes(n)), want, 'seeded stages in order');
    for (const s of st) {
      assert.equal(typeof s.id, 'number');
      assert.equal(typeof s.position, 'number');
      assert.equal(typeof s.is_sale, 'boolean');
      assert.equal(typeof s.waiting, 'boolean');
      assert.ok('guidance' in s, 'stage has guidance');
    }
    assert.equal(byName(st, 'Sold').is_sale, true);
    assert.equal(byName(st, 'New').is_sale, false);
    assert.equal(byName(st, 'Waiting for more information').waiting, true);
    assert.equal(byName(st, 'Contacted').waiting, false);
  });

  it('seeded outcomes with their kinds', async () => {
    const out = items(await agent.c.get('/api/v1/outcomes'), 'outcomes');
    const kinds = Object.fromEntries(out.map((o) => [o.key, o.kind]));
    assert.deepEqual(
      { won: kinds.won, lost: kinds.lost, converted: kinds.converted, treated: kinds.treated,
        passed_to_distribution: kinds.passed_to_distribution, abandoned: kinds.abandoned, completed: kinds.completed },
      { won: 'won', lost: 'lost', converted: 'won', treated: 'neutral',
        passed_to_distribution: 'neutral', abandoned: 'lost', completed: 'neutral' });
    for (const o of out) assert.equal(typeof o.name, 'string');
  });

  it('seeded lost reasons include Price, Spam (not counted in reports) and Other', async () => {
    const lr = items(await agent.c.get('/api/v1/lost-reasons'), 'lost reasons');
    for (const n of ['Price', 'Spam', 'Other']) assert.ok(byName(lr, n), `lost reason ${n}`);
    assert.equal(byName(lr, 'Spam').counts_in_reports, false);
    assert.equal(byName(lr, 'Price').counts_in_reports, true);
    for (const r of lr) {
      assert.equal(typeof r.id, 'number');
      assert.equal(typeof r.active, 'boolean');
      assert.ok('follow_up_days' in r && 'group_id' in r, 'follow_up_days and group_id present');
    }
  });

  it('seeded group "Live Leads" exists', async () => {
    const g = items(await agent.c.get('/api/v1/groups'), 'groups');
    const live = byName(g, 'Live Leads');
    assert.ok(live, 'Live Leads');
    assert.equal(typeof live.id, 'number');
  });

  for (const path of ['sources', 'locations', 'partners', 'groups']) {
    it(`/${path}: create (201), list, patch name, 422 without a name`, async () => {
      const name = `E2E ${path} item`;
      const r = await admin.c.post(`/api/v1/${path}`, { name });
      const made = expectStatus(r, 201, `POST /${path}`);
      assert.equal(made.name, name);
      assert.equal(typeof made.id, 'number');
      assert.ok(items(await agent.c.get(`/api/v1/${path}`)).some((x) => x.id === made.id), 'listed');
      const p = expectStatus(await admin.c.patch(`/api/v1/${path}/${made.id}`, { name: `${name} renamed` }), 200, `PATCH /${path}`);
      assert.equal(p.name, `${name} renamed`);
      assert.equal(byName(items(await agent.c.get(`/api/v1/${path}`)), `${name} renamed`)?.id, made.id, 'rename listed');
      const e = expectError(await admin.c.post(`/api/v1/${path}`, {}), 422, 'validation_failed', `POST /${path} without name`);
      assert.ok('name' in (e.fields || {}), 'fields.name');
    });
  }

  it('an agent may read the lists but not change them (403)', async () => {
    expectError(await agent.c.post('/api/v1/sources', { name: 'Agent Source' }), 403, 'forbidden', 'agent POST source');
    expectError(await agent.c.post('/api/v1/stages', { name: 'Agent Stage' }), 403, 'forbidden', 'agent POST stage');
    expectError(await agent.c.post('/api/v1/outcomes', { key: 'agent_made', name: 'A', kind: 'neutral' }), 403, 'forbidden', 'agent POST outcome');
    assert.ok(!items(await agent.c.get('/api/v1/sources')).some((s) => s.name === 'Agent Source'));
  });

  it('stages: create one (appears in the list, usable on a lead) and patch it', async () => {
    const s = expectStatus(await admin.c.post('/api/v1/stages', {
      name: 'Demo Booked', position: 25, is_sale: false, waiting: false, guidance: 'Confirm the demo date' }), 201);
    assert.equal(s.name, 'Demo Booked');
    assert.equal(s.guidance, 'Confirm the demo date');
    assert.ok(items(await agent.c.get('/api/v1/stages')).some((x) => x.id === s.id));
    const p = expectStatus(await admin.c.patch(`/api/v1/stages/${s.id}`, { guidance: 'Call to confirm', waiting: true }), 200);
    assert.equal(p.guidance, 'Call to confirm');
    assert.equal(p.waiting, true);
    assert.equal(p.name, 'Demo Booked', 'unpatched field kept');
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Staged', stage_id: s.id }), 201);
    assert.equal(l.stage_id, s.id);
  });

  it('outcomes: create one with a kind, patch its name; a bad kind answers 422', async () => {
    const o = expectStatus(await admin.c.post('/api/v1/outcomes', { key: 'no_budget', name: 'No budget', kind: 'lost' }), 201);
    assert.equal(o.key, 'no_budget');
    assert.equal(o.kind, 'lost');
    const list = items(await agent.c.get('/api/v1/outcomes'));
    assert.ok(list.some((x) => x.key === 'no_budget'));
    const p = expectStatus(await admin.c.patch('/api/v1/outcomes/no_budget', { name: 'No budget left' }), 200);
    assert.equal(p.name, 'No budget left');
    assert.equal(p.kind, 'lost');
    const e = expectError(await admin.c.post('/api/v1/outcomes', { key: 'weird', name: 'Weird', kind: 'maybe' }), 422, 'validation_failed');
    assert.ok('kind' in (e.fields || {}));
    const dup = await admin.c.post('/api/v1/outcomes', { key: 'won', name: 'Won again', kind: 'won' });
    assert.ok([409, 422].includes(dup.status), `duplicate key: ${dup.status}`);
    expectError(dup, dup.status, null);
  });

  it('lost reasons: create with follow-up days and a group, patch active / counts_in_reports', async () => {
    const g = expectStatus(await admin.c.post('/api/v1/groups', { name: 'Nurture' }), 201);
    const r = expectStatus(await admin.c.post('/api/v1/lost-reasons', {
      name: 'E2E Timing', counts_in_reports: true, follow_up_days: 90, group_id: g.id }), 201);
    assert.equal(r.name, 'E2E Timing');
    assert.equal(r.follow_up_days, 90);
    assert.equal(r.group_id, g.id);
    assert.equal(r.active, true, 'new reasons are active');
    const p = expectStatus(await admin.c.patch(`/api/v1/lost-reasons/${r.id}`, { active: false, counts_in_reports: false }), 200);
    assert.equal(p.active, false);
    assert.equal(p.counts_in_reports, false);
    assert.equal(p.follow_up_days, 90);
    const again = byName(items(await agent.c.get('/api/v1/lost-reasons')), 'E2E Timing');
    assert.ok(!again || again.active === false, 'an inactive reason is hidden or marked inactive');
  });

  it('settings: GET answers the SLA targets (5 / 30 days) and default close-lost group; PATCH changes them and SLA follows', async () => {
    const s = expectStatus(await admin.c.get('/api/v1/settings'), 200, 'GET settings');
    assert.ok(s && typeof s === 'object');
    // Find the SLA warn/breach values wherever the settings put them.
    const flat = {};
    const walkObj = (o, prefix) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walkObj(v, [...prefix, k]);
        else flat[[...prefix, k].join('.')] = v;
      }
    };
    walkObj(s, []);
    const warnKey = Object.keys(flat).find((k) => /warn/i.test(k) && typeof flat[k] === 'number');
    const breachKey = Object.keys(flat).find((k) => /breach/i.test(k) && typeof flat[k] === 'number');
    assert.ok(warnKey, `a numeric SLA warn setting in ${JSON.stringify(s)}`);
    assert.ok(breachKey, `a numeric SLA breach setting in ${JSON.stringify(s)}`);
    assert.equal(flat[warnKey], 5, 'warn after 5 days');
    assert.equal(flat[breachKey], 30, 'breach after 30 days');
    const live = byName(items(await admin.c.get('/api/v1/groups')), 'Live Leads');
    assert.ok(Object.entries(flat).some(([k, v]) => /group/i.test(k) && v === live.id), 'default close-lost group is Live Leads');

    // A lead 10 days old is "warning" now; after raising warn to 20 days it is "ok".
    const l = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Sla Shift', created_at: isoNow(-10 * DAY) }), 201);
    assert.equal(l.sla, 'warning');
    const patch = {};
    const setPath = (obj, path, v) => {
      const parts = path.split('.');
      let o = obj;
      for (const p of parts.slice(0, -1)) o = (o[p] = o[p] || {});
      o[parts.at(-1)] = v;
    };
    setPath(patch, warnKey, 20);
    setPath(patch, breachKey, 30);
    const after = expectStatus(await admin.c.patch('/api/v1/settings', patch), 200, 'PATCH settings');
    const again = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    const get = (o, path) => path.split('.').reduce((x, k) => x?.[k], o);
    assert.equal(get(again, warnKey), 20, 'warn changed');
    assert.equal(get(again, breachKey), 30, 'breach kept');
    assert.equal(get(after, warnKey), 20, 'PATCH answers the new settings');
    const l2 = expectStatus(await admin.c.get(`/api/v1/leads/${l.id}`), 200);
    assert.equal(l2.sla, 'ok', 'SLA follows the new warn threshold');
    expectError(await agent.c.patch('/api/v1/settings', patch), 403, 'forbidden', 'an agent may not change settings');
  });
});
