// 26-export: GET /api/v1/export/leads streams every lead the filters select (not paged), as CSV
// or JSON, with the caller's visibility; a bad format or filter answers 422 before anything.
// POST /api/v1/import/leads takes a CSV as a background job: rows through the create rules,
// failures by row number, a dry run that creates nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, until, FILE_TIMEOUT_MS } from './lib.mjs';

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

describe('import over HTTP', { timeout: FILE_TIMEOUT_MS }, () => {
  const csv = 'full_name,emails,phones,country,owner_email\r\n' +
    'Imported Ida,ida@import.test,020 7946 0958,GB,agent@e2e.test\r\n' +
    ',nobody@import.test,,,\r\n' +
    'Imported Ivo,not-an-email,,,\r\n' +
    'Imported Ines,,,,nobody@e2e.test\r\n' +
    'Imported Ike,ike@import.test,,,\r\n';
  const post = (c, body, qs = '', ct = 'text/csv') => c.post(`/api/v1/import/leads${qs}`, undefined, { raw: body, contentType: ct });
  const finished = (c, id) => until(`job ${id}`, async () => {
    const j = expectStatus(await c.get(`/api/v1/jobs/${id}`), 200);
    return j.status === 'done' || j.status === 'failed' ? j : null;
  });

  it('a dry run checks every row and creates nothing', async () => {
    const { manager } = w.users;
    const r = await post(manager.c, csv, '?dry_run=1');
    const acc = expectStatus(r, 202);
    assert.equal(acc.dry_run, true);
    const job = await finished(manager.c, acc.job_id);
    assert.equal(job.status, 'done');
    assert.equal(job.kind, 'import');
    assert.equal(job.dry_run, true);
    assert.equal(job.total, 5);
    assert.equal(job.failed, 3);
    assert.deepEqual(job.errors.map((e) => e.row), [2, 3, 4]);
    assert.ok('full_name' in job.errors[0].error.fields);
    assert.ok('emails' in job.errors[1].error.fields);
    assert.ok('owner_email' in job.errors[2].error.fields);
    assert.equal(job.result.would_create, 2);
    assert.equal(items(await manager.c.get('/api/v1/leads?q=Imported&status=all&owner=any')).length, 0, 'nothing created');
  });

  it('the import creates the good rows, reports the bad ones by row, and records the owner by email', async () => {
    const { manager, agent } = w.users;
    const acc = expectStatus(await post(manager.c, csv), 202);
    const job = await finished(manager.c, acc.job_id);
    assert.equal(job.status, 'done');
    assert.equal(job.done, 5);
    assert.equal(job.failed, 3);
    assert.equal(job.result.created, 2);
    const got = items(await manager.c.get('/api/v1/leads?q=Imported&status=all&owner=any'));
    assert.deepEqual(got.map((l) => l.full_name).sort(), ['Imported Ida', 'Imported Ike']);
    const ida = got.find((l) => l.full_name === 'Imported Ida');
    assert.equal(ida.owner_id, agent.id);
    assert.deepEqual(ida.phones, ['+442079460958']);
    assert.deepEqual(items(await manager.c.get(`/api/v1/leads/${ida.id}/timeline`)).map((e) => e.kind), ['created']);
  });

  it('agents may not import (403); JSON is refused (415); an empty file is 422', async () => {
    const { agent, manager } = w.users;
    expectError(await post(agent.c, csv), 403, 'forbidden');
    expectError(await post(manager.c, '{"full_name":"x"}', '', 'application/json'), 415, 'unsupported_media_type');
    expectError(await post(manager.c, 'full_name'), 422, 'validation_failed');
  });
});
