// 51-harden-checks: what the description promises about stored values, versions and bodies
// (issue 15, items 4 and 5). Settings and webhook URLs that would break their own schema are
// refused with 422 naming the field and store nothing; approve, decline and PATCH /roles/{id}
// honour If-Match; bulk takes ids or a filter (not both, not an empty list); an import needs a
// row; GET /jobs with an unknown kind answers an empty list, as described.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, byName, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { if (w) await w.srv.stop(); });

describe('stored values keep to the schema', { timeout: FILE_TIMEOUT_MS }, () => {
  it('business_hours and time_zone: 422 naming the field, nothing stored', async () => {
    const { admin } = w.users;
    const before = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    const bad = [
      { business_hours: { days: [9], start: '09:00', end: '17:00', time_zone: 'UTC' } },
      { business_hours: { days: [1, 2], start: '09:00', end: '17:00', time_zone: 5 } },
      { business_hours: { days: [1, 1], start: '09:00', end: '17:00', time_zone: 'UTC' } },
      { business_hours: { days: [1], start: '9am', end: '17:00', time_zone: 'UTC' } },
      { business_hours: { days: [1], start: '18:00', end: '17:00', time_zone: 'UTC' } },
      { business_hours: { days: [1], start: '09:00', end: '17:00', time_zone: 'Mars/Olympus' } },
      { business_hours: { days: [1], start: '09:00', end: '17:00', time_zone: 'UTC', lunch: '12:00' } },
      { business_hours: { days: [1], start: '09:00' } },
    ];
    for (const body of bad) {
      const e = expectError(await admin.c.patch('/api/v1/settings', body), 422, 'validation_failed', JSON.stringify(body));
      assert.ok(e.fields && e.fields.business_hours, `names business_hours: ${JSON.stringify(e)}`);
    }
    for (const tz of ['Mars/Olympus', '../../etc/passwd', 'utc', 'Europe//Berlin']) {
      const e = expectError(await admin.c.patch('/api/v1/settings', { time_zone: tz }), 422, 'validation_failed', tz);
      assert.ok(e.fields.time_zone, 'names time_zone');
    }
    expectError(await admin.c.patch('/api/v1/settings', { default_country: 'XX' }), 422, 'validation_failed');
    expectError(await admin.c.patch('/api/v1/settings', { default_country: 'DEU' }), 422, 'validation_failed');
    // A bad value next to a good one stores neither.
    expectError(await admin.c.patch('/api/v1/settings', { sla_warning_days: 6, time_zone: 'Nowhere/Land' }), 422, 'validation_failed');
    const after1 = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    assert.deepEqual(after1, before, 'nothing stored');
    const good = { days: [1, 2, 3, 4, 5, 6], start: '08:30', end: '18:00', time_zone: 'Europe/Berlin' };
    const ok = expectStatus(await admin.c.patch('/api/v1/settings', { business_hours: good, time_zone: 'America/New_York', default_country: 'DE' }), 200);
    assert.deepEqual(ok.business_hours, good);
    assert.equal(ok.time_zone, 'America/New_York');
  });

  it('a webhook URL must be an absolute ASCII http(s) URI', async () => {
    const { admin } = w.users;
    const n = items(await admin.c.get('/api/v1/webhooks')).length;
    for (const url of ['https://exämple.com/hook', 'https://example.com/a b', 'https://example.com/"x"', 'https://example.com/{x}',
      'https://example.com:80x/', 'https://example.com/%zz', 'ftp://example.com/', 'https:///path', '/relative']) {
      const e = expectError(await admin.c.post('/api/v1/webhooks', { url }), 422, 'validation_failed', url);
      assert.ok(e.fields.url, `names url for ${url}`);
    }
    assert.equal(items(await admin.c.get('/api/v1/webhooks')).length, n, 'nothing stored');
    const made = expectStatus(await admin.c.post('/api/v1/webhooks', { url: 'https://xn--exmple-cua.com:8443/hook?a=%C3%A4&b=1' }), 201);
    expectError(await admin.c.patch(`/api/v1/webhooks/${made.id}`, { url: 'https://exämple.com/' }), 422, 'validation_failed');
    expectStatus(await admin.c.del(`/api/v1/webhooks/${made.id}`), 204);
  });
});

describe('versions and bodies are checked where described', { timeout: FILE_TIMEOUT_MS }, () => {
  it('approve and decline with a stale If-Match answer 412 and decide nothing', async () => {
    const { admin, agent, manager } = w.users;
    const role = items(await admin.c.get('/api/v1/roles')).find((r) => r.name === 'agent');
    expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'request' } }), 200);
    try {
      const reason = byName(items(await agent.c.get('/api/v1/lost-reasons')), 'Price').id;
      const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Stale Approval' }), 201);
      const { approval } = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'lost', reason_id: reason }), 202);
      const stale = { headers: { 'If-Match': String(approval.version + 1) } };
      expectError(await manager.c.post(`/api/v1/approvals/${approval.id}/approve`, {}, stale), 412, 'version_mismatch');
      expectError(await manager.c.post(`/api/v1/approvals/${approval.id}/decline`, { note: 'no' }, stale), 412, 'version_mismatch');
      assert.equal(expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200).status, 'open', 'not carried out');
      const still = items(await manager.c.get('/api/v1/approvals?status=pending')).find((a) => a.id === approval.id);
      assert.ok(still, 'still pending');
      const done = expectStatus(await manager.c.post(`/api/v1/approvals/${approval.id}/approve`, {},
        { headers: { 'If-Match': String(approval.version) } }), 200);
      assert.equal(done.status, 'approved');
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { close_lost: 'allow' } }), 200);
    }
  });

  it('PATCH /roles/{id} with a stale If-Match answers 412 and changes nothing', async () => {
    const { admin } = w.users;
    const role = items(await admin.c.get('/api/v1/roles')).find((r) => r.name === 'manager');
    expectError(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { reopen: 'deny' } }, { headers: { 'If-Match': String(role.version + 5) } }),
      412, 'version_mismatch');
    const now = items(await admin.c.get('/api/v1/roles')).find((r) => r.id === role.id);
    assert.equal(now.version, role.version);
    assert.deepEqual(now.policy, role.policy);
    const ok = expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { reopen: role.policy.reopen } },
      { headers: { 'If-Match': String(role.version) } }), 200);
    assert.equal(ok.id, role.id);
  });

  it('bulk with both ids and a filter, or with no ids, answers 422 and acts on nothing', async () => {
    const { admin } = w.users;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(expectStatus(await admin.c.post('/api/v1/leads', { full_name: `Bulk Keep ${i}` }), 201).id);
    const e = expectError(await admin.c.post('/api/v1/leads/bulk', { ids, filter: { owner: 'any' }, action: 'delete' }), 422, 'validation_failed');
    assert.ok(e.fields.filter, 'names filter');
    const e2 = expectError(await admin.c.post('/api/v1/leads/bulk', { ids: [], action: 'delete' }), 422, 'validation_failed');
    assert.ok(e2.fields.ids, 'names ids');
    for (const id of ids) expectStatus(await admin.c.get(`/api/v1/leads/${id}`), 200, 'still there');
  });

  it('an import of a header line with no rows answers 422 and starts no job', async () => {
    const { admin } = w.users;
    const jobs = items(await admin.c.get('/api/v1/jobs?kind=import')).length;
    for (const csv of ['full_name,email\n', 'full_name,email\r\n\r\n\n']) {
      const e = expectError(await admin.c.post('/api/v1/import/leads', undefined, { raw: csv, contentType: 'text/csv' }), 422, 'validation_failed');
      assert.ok(e.fields.file, 'names file');
    }
    assert.equal(items(await admin.c.get('/api/v1/jobs?kind=import')).length, jobs, 'no job started');
    expectStatus(await admin.c.post('/api/v1/import/leads', undefined, { raw: 'full_name\nOne Row\n', contentType: 'text/csv' }), 202);
  });

  it('GET /jobs with a kind or status the description does not list answers an empty list', async () => {
    const { admin } = w.users;
    assert.deepEqual(items(await admin.c.get('/api/v1/jobs?kind=export')), []);
    assert.deepEqual(items(await admin.c.get('/api/v1/jobs?kind=webhook')), []);
    assert.deepEqual(items(await admin.c.get('/api/v1/jobs?status=nope')), []);
  });

  it('a replayed create carries the first answer\'s Location', async () => {
    const { admin } = w.users;
    const opts = { headers: { 'Idempotency-Key': `loc-${Date.now()}` } };
    const first = await admin.c.post('/api/v1/leads', { full_name: 'Replay Location' }, opts);
    expectStatus(first, 201);
    const again = await admin.c.post('/api/v1/leads', { full_name: 'Replay Location' }, opts);
    expectStatus(again, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.headers.location, first.headers.location);
    assert.equal(again.headers.location, `/api/v1/leads/${first.body.id}`);
  });
});
