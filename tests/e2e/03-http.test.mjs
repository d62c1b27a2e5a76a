// 03-http: protocol-level behaviour — malformed JSON 400, body over 1 MiB 413, wrong content
// type 415, unknown ids and routes 404, the one error shape, /healthz, /readyz, /metrics, OpenAPI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, request, expectStatus, expectError, FILE_TIMEOUT_MS,
} from './lib.mjs';

let w;
let admin;
before(async () => { w = await startWorld(); admin = w.users.admin; });
after(async () => { if (w) await w.srv.stop(); });

const total = async () => {
  const r = await admin.c.get('/api/v1/leads?owner=any&status=all&total=1');
  expectStatus(r, 200);
  return r.body.total;
};

describe('HTTP protocol', { timeout: FILE_TIMEOUT_MS }, () => {
  it('GET /healthz and /readyz answer 200 without authentication', async () => {
    expectStatus(await request(w.srv, 'GET', '/healthz'), 200, '/healthz');
    expectStatus(await request(w.srv, 'GET', '/readyz'), 200, '/readyz');
  });

  it('GET /metrics answers Prometheus text with request counters that grow', async () => {
    const r1 = await request(w.srv, 'GET', '/metrics');
    expectStatus(r1, 200, '/metrics');
    assert.match(String(r1.headers['content-type']), /^text\/plain/, 'Prometheus text content type');
    assert.match(r1.text, /^# TYPE \S+ counter$/m, 'declares at least one counter');
    const reqLine = /^(\w*requests?\w*)(\{[^}]*\})?\s+(\d+(\.\d+)?(e[+-]?\d+)?)$/gim;
    const sum = (t) => [...t.matchAll(reqLine)].filter((m) => !m[1].endsWith('_bucket') && !m[1].endsWith('_sum'))
      .reduce((a, m) => a + Number(m[3]), 0);
    const s1 = sum(r1.text);
    assert.ok(s1 > 0, `a request counter with a positive value:\n${r1.text.slice(0, 1500)}`);
    for (let i = 0; i < 5; i++) await admin.c.get('/api/v1/me');
    const r2 = await request(w.srv, 'GET', '/metrics');
    assert.ok(sum(r2.text) >= s1 + 5, 'request counters count the requests made');
  });

  it('64 creates at once are all stored, share commits, and reads answer meanwhile', async () => {
    const counter = (text, name) => Number((text.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
    const m1 = (await request(w.srv, 'GET', '/metrics')).text;
    const before = await total();
    const tag = `burst${process.pid}`;
    const creates = Array.from({ length: 64 }, (_, i) =>
      admin.c.post('/api/v1/leads', { full_name: `${tag} ${i}`, emails: [`${tag}.${i}@example.com`] }));
    const reads = Array.from({ length: 16 }, () => admin.c.get('/api/v1/leads?status=all&limit=5'));
    const done = await Promise.all([...creates, ...reads]);
    const made = done.slice(0, 64).map((r) => expectStatus(r, 201, 'every create answers 201'));
    for (const r of done.slice(64)) expectStatus(r, 200, 'reads answer while writes wait for their commit');
    assert.equal(new Set(made.map((l) => l.id)).size, 64, 'each create its own lead');
    assert.equal(await total(), before + 64, 'every acknowledged create is stored');
    for (const l of made.slice(0, 3)) {
      const got = expectStatus(await admin.c.get(`/api/v1/leads/${l.id}`), 200);
      assert.equal(got.full_name, l.full_name);
    }
    if (!process.env.LEADPATH_TEST_PG_URL) {  // SQLite: one writer, group commit
      const m2 = (await request(w.srv, 'GET', '/metrics')).text;
      const writes = counter(m2, 'leadpath_store_writes_total') - counter(m1, 'leadpath_store_writes_total');
      const commits = counter(m2, 'leadpath_store_commits_total') - counter(m1, 'leadpath_store_commits_total');
      assert.ok(writes >= 64, `the writes were counted (${writes})`);
      assert.ok(commits < writes, `concurrent writes share commits (${writes} writes in ${commits} commits)`);
    }
  });

  it('GET /api/v1/openapi.yaml answers the OpenAPI document', async () => {
    const r = await admin.c.get('/api/v1/openapi.yaml');
    expectStatus(r, 200);
    assert.match(r.text, /^openapi:\s*['"]?3\./m, 'an OpenAPI 3 document');
    assert.match(r.text, /\/leads/, 'describes the leads paths');
  });

  it('malformed JSON answers 400 bad_request and creates nothing', async () => {
    const before = await total();
    const r = await request(w.srv, 'POST', '/api/v1/leads', {
      token: admin.token, raw: '{"full_name": "Broken",', contentType: 'application/json' });
    expectError(r, 400, 'bad_request', 'truncated JSON');
    const r2 = await request(w.srv, 'POST', '/api/v1/leads', {
      token: admin.token, raw: '{"full_name": "A"} trailing', contentType: 'application/json' });
    expectError(r2, 400, 'bad_request', 'JSON with trailing garbage');
    assert.equal(await total(), before);
  });

  it('a JSON body that is not an object answers 400 or 422', async () => {
    const r = await request(w.srv, 'POST', '/api/v1/leads', { token: admin.token, raw: '[1,2]', contentType: 'application/json' });
    assert.ok([400, 422].includes(r.status), `array body: ${r.status}`);
    expectError(r, r.status, null, 'array body');
  });

  it('a body over 1 MiB answers 413 too_large; just under (unknown field as padding) is accepted', async () => {
    const big = JSON.stringify({ full_name: 'Big', notes: 'x'.repeat(1024 * 1024 + 10) });
    const r = await request(w.srv, 'POST', '/api/v1/leads', { token: admin.token, raw: big, contentType: 'application/json' });
    expectError(r, 413, 'too_large', 'over 1 MiB');
    const under = JSON.stringify({ full_name: 'Nearly big', padding_ignored: 'y'.repeat(1000 * 1024) });
    const r2 = await request(w.srv, 'POST', '/api/v1/leads', { token: admin.token, raw: under, contentType: 'application/json' });
    expectStatus(r2, 201, '1000 KiB body');
  });

  it('a wrong content type answers 415 unsupported_media_type', async () => {
    const r = await request(w.srv, 'POST', '/api/v1/leads', {
      token: admin.token, raw: JSON.stringify({ full_name: 'Plain' }), contentType: 'text/plain' });
    expectError(r, 415, 'unsupported_media_type', 'text/plain');
    const r2 = await request(w.srv, 'POST', '/api/v1/leads', {
      token: admin.token, raw: 'full_name=Form', contentType: 'application/x-www-form-urlencoded' });
    expectError(r2, 415, 'unsupported_media_type', 'form body');
    const r3 = await request(w.srv, 'POST', '/api/v1/leads', {
      token: admin.token, raw: JSON.stringify({ full_name: 'Charset' }), contentType: 'application/json; charset=utf-8' });
    expectStatus(r3, 201, 'application/json with charset is fine');
  });

  it('unknown ids answer 404 not_found', async () => {
    expectError(await admin.c.get('/api/v1/leads/987654321'), 404, 'not_found', 'GET unknown lead');
    expectError(await admin.c.patch('/api/v1/leads/987654321', { full_name: 'x' }), 404, 'not_found', 'PATCH unknown lead');
    expectError(await admin.c.del('/api/v1/leads/987654321'), 404, 'not_found', 'DELETE unknown lead');
    expectError(await admin.c.post('/api/v1/leads/987654321/close', { outcome: 'won' }), 404, 'not_found', 'close unknown lead');
    expectError(await admin.c.get('/api/v1/leads/987654321/timeline'), 404, 'not_found', 'timeline of unknown lead');
    expectError(await admin.c.patch('/api/v1/tasks/987654321', { status: 'done' }), 404, 'not_found', 'PATCH unknown task');
  });

  it('a non-numeric id answers 404 (or 400), never 500', async () => {
    const r = await admin.c.get('/api/v1/leads/abc');
    assert.ok([400, 404].includes(r.status), `got ${r.status}`);
    expectError(r, r.status, null);
  });

  it('unknown routes answer 404 with the error shape', async () => {
    expectError(await admin.c.get('/api/v1/no-such-thing'), 404, 'not_found', 'unknown api route');
    expectError(await request(w.srv, 'GET', '/api/v1/no-such-thing'), [401, 404], null, 'unknown route, no auth');
    expectError(await admin.c.get('/api/v2/leads'), 404, 'not_found', 'unknown api version');
  });

  it('a wrong method on a known route answers an error in the one shape with a contract code', async () => {
    const r = await admin.c.del('/api/v1/stages');
    assert.ok([404, 405].includes(r.status), `DELETE /stages: ${r.status}`);
    expectError(r, r.status, null, 'DELETE /api/v1/stages');
    const r2 = await admin.c.put('/api/v1/leads/1', { full_name: 'x' });
    assert.ok([404, 405].includes(r2.status), `PUT /leads/1: ${r2.status}`);
    expectError(r2, r2.status, null, 'PUT /api/v1/leads/1');
  });

  it('bad list parameters answer 422 (or 400) naming the parameter, not a silently wrong list', async () => {
    for (const [q, field] of [['status=bogus', 'status'], ['sort=bogus', 'sort'], ['owner=nobody', 'owner'],
      ['created_from=yesterday', 'created_from'], ['cursor=garbage', 'cursor'], ['sla=purple', 'sla']]) {
      const r = await admin.c.get(`/api/v1/leads?${q}`);
      assert.ok([400, 422].includes(r.status), `?${q}: ${r.status}`);
      const e = expectError(r, r.status, null, `?${q}`);
      if (r.status === 422) assert.ok(field in (e.fields || {}), `?${q}: fields.${field}`);
    }
  });

  it('the OpenAPI document describes every path of this round', async () => {
    const r = await admin.c.get('/api/v1/openapi.yaml');
    expectStatus(r, 200);
    const norm = (p) => p.replace(/\{[^}]+\}/g, '{}');
    const paths = new Set(r.text.split('\n').map((l) => l.match(/^\s+(\/[^\s:]*):\s*$/)).filter(Boolean).map((m) => norm(m[1])));
    const want = ['/api/v1/auth/login', '/api/v1/auth/logout', '/api/v1/me', '/api/v1/leads', '/api/v1/leads/{}',
      '/api/v1/leads/{}/close', '/api/v1/leads/{}/reopen', '/api/v1/leads/{}/transitions', '/api/v1/leads/{}/timeline',
      '/api/v1/leads/{}/comments', '/api/v1/leads/{}/tasks', '/api/v1/tasks', '/api/v1/tasks/{}', '/api/v1/dashboard',
      '/api/v1/stages', '/api/v1/outcomes', '/api/v1/lost-reasons', '/api/v1/sources', '/api/v1/locations',
      '/api/v1/partners', '/api/v1/groups', '/api/v1/settings', '/api/v1/events', '/healthz', '/readyz', '/metrics'];
    const missing = want.filter((p) => !paths.has(p) && ![...paths].some((q) => `/api/v1${q}` === p));
    assert.deepEqual(missing, [], 'paths missing from openapi.yaml');
  });

  it('validation errors carry fields; every error has {error:{code,message}}', async () => {
    const r = await admin.c.post('/api/v1/leads', { company: 'No name Ltd' });
    const e = expectError(r, 422, 'validation_failed');
    assert.ok(e.fields && 'full_name' in e.fields, 'fields.full_name names the problem');
    assert.equal(typeof e.fields.full_name, 'string');
  });
});
