// 26-export: GET /api/v1/export/leads streams every lead the filters select (not paged), as CSV
// or JSON, with the caller's visibility; a bad format or filter answers 422 before anything.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { if (w) await w.srv.stop(); });

describe('export', { timeout: FILE_TIMEOUT_MS }, () => {
  it('CSV of every visible lead past one page, with owners by email; JSON the same leads', async () => {
    const { agent, other, admin } = w.users;
    const mine = [];
    for (let i = 0; i < 520; i++) mine.push(expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Export ${i}`, request: i === 7 ? 'two\nlines, "quoted"' : null }), 201).id);
    expectStatus(await other.c.post('/api/v1/leads', { full_name: 'Not Yours' }), 201);
    const r = await agent.c.get('/api/v1/export/leads?status=all&owner=any');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/csv/);
    assert.match(r.headers['content-disposition'], /attachment; filename="leads.csv"/);
    const csv = r.text;
    assert.match(csv.split(/\r?\n/)[0], /^id,full_name,/);
    const header = csv.split(/\r?\n/)[0].split(',');
    const ownerEmail = header.indexOf('owner_email');
    assert.ok(ownerEmail > 0, 'owners travel by email');
    // every one of the agent's 520 leads (more than one 500-lead page), none of the other agent's
    for (const id of [mine[0], mine[250], mine[519]]) assert.match(csv, new RegExp(`^${id},Export `, 'm'));
    assert.ok(!csv.includes('Not Yours'), 'visibility applies');
    assert.ok(csv.includes('"two\nlines, ""quoted"""'), 'RFC 4180 quoting');
    const j = await agent.c.get('/api/v1/export/leads?status=all&owner=any&format=json');
    assert.equal(j.status, 200);
    assert.equal(j.body.length, 520);
    assert.deepEqual(j.body.map((l) => l.id).sort((a, b) => a - b), [...mine].sort((a, b) => a - b));
    assert.equal(j.body[0].owner_email, 'agent@e2e.test');
    // filters apply, with the list's meaning
    const q = await admin.c.get('/api/v1/export/leads?status=all&owner=any&q=Yours&format=json');
    assert.deepEqual(q.body.map((l) => l.full_name), ['Not Yours']);
  });

  it('bad format or filter: 422 in the error shape, nothing streamed', async () => {
    const { agent } = w.users;
    let e = expectError(await agent.c.get('/api/v1/export/leads?format=xml'), 422, 'validation_failed');
    assert.ok('format' in e.fields);
    e = expectError(await agent.c.get('/api/v1/export/leads?status=maybe'), 422, 'validation_failed');
    assert.ok('status' in e.fields);
    expectError(await agent.c.get('/api/v1/export/leads', { token: 'nope' }), 401, 'unauthorized');
  });
});
