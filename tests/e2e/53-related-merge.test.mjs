// 53-related-merge.test.mjs — leads that belong together (docs/merge.md): related leads by
// e-mail, phone (compared in E.164) and company (normalised), within what the caller may see;
// the duplicate check of a create (?check_duplicates=1) and of an import (?on_duplicate=);
// merging leads: a dry run writes nothing, the survivor takes the chosen values, tasks, threads
// and messages, comments, groups and the timeline move to it, the others close as merged with a
// link, the timeline of both tells the story; merging into itself or an already merged lead is
// refused; If-Match and the role's merge permission hold. Runs on SQLite, and on PostgreSQL with
// LEADPATH_TEST_PG_URL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectError, expectStatus, items, u, until, request, runCli, FILE_TIMEOUT_MS } from './lib.mjs';

const SECRET = 'inbound-secret-for-merge-tests-1';

describe('related leads, duplicates and merge', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  let w, admin, agent, other;
  before(async () => {
    w = await startWorld();
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    other = w.users.other.c;
    expectStatus(await admin.patch('/api/v1/settings', { inbound_secret: SECRET }), 200, 'settings');
  });
  after(async () => { await w?.srv.stop(); });

  const make = async (c, body, query = '') => {
    const r = await c.post(`/api/v1/leads${query}`, { full_name: `Lead ${u()}`, ...body });
    expectStatus(r, 201, 'create lead');
    return r.body;
  };
  const related = async (c, id) => {
    const r = await c.get(`/api/v1/leads/${id}/related`);
    expectStatus(r, 200, 'related');
    assert.deepEqual(r.body.customers, [], 'no customer shares a key with these leads (none is converted here)');
    return r.body.items;
  };

  it('finds related leads by e-mail, by phone in E.164 and by normalised company, with what matched', async () => {
    const mail = `rel.${u()}@example.com`;
    const company = `Acme ${u()} Ltd`;
    const a = await make(agent, { emails: [mail], phones: ['+44 20 7946 0123'], company, country: 'GB' });
    const byMail = await make(agent, { emails: [mail.toUpperCase()] });
    const byPhone = await make(agent, { phones: ['020 7946 0123'], country: 'GB' });
    const byCompany = await make(agent, { company: `  ${company.toLowerCase().replace(' ', '   ')} ` });
    const unrelated = await make(agent, { emails: [`nobody.${u()}@example.com`], company: `Other ${u()}` });
    const rel = await related(agent, a.id);
    const ids = rel.map((x) => x.id).sort((x, y) => x - y);
    assert.deepEqual(ids, [byMail.id, byPhone.id, byCompany.id].sort((x, y) => x - y), 'each key, not itself, not the unrelated');
    const m = (id) => rel.find((x) => x.id === id).matched;
    assert.deepEqual(m(byMail.id), [{ key: 'email', value: mail }]);
    assert.deepEqual(m(byPhone.id), [{ key: 'phone', value: '+442079460123' }]);
    assert.equal(m(byCompany.id)[0].key, 'company');
    const one = rel.find((x) => x.id === byMail.id);
    for (const k of ['full_name', 'status', 'stage_id', 'stage_name', 'outcome', 'owner_id', 'owner_name', 'created_at', 'closed_at'])
      assert.ok(k in one, `related lead has ${k}`);
    assert.equal(one.status, 'open');
    assert.equal(one.stage_name, 'New');
    assert.equal(one.owner_name, 'Alice Agent');
    assert.deepEqual(await related(agent, unrelated.id), []);

    // a closed lead stays related, with its outcome and close date
    expectStatus(await agent.post(`/api/v1/leads/${byPhone.id}/close`, { outcome: 'won' }), 200, 'close');
    const after = (await related(agent, a.id)).find((x) => x.id === byPhone.id);
    assert.equal(after.status, 'closed');
    assert.equal(after.outcome, 'won');
    assert.ok(after.closed_at);

    // keys follow changes: a new address relates, the old one no longer does; a deleted lead is gone
    expectStatus(await agent.patch(`/api/v1/leads/${byMail.id}`, { emails: [`moved.${u()}@example.com`] }), 200, 'patch');
    assert.ok(!(await related(agent, a.id)).some((x) => x.id === byMail.id), 'old address no longer matches');
    expectStatus(await admin.del(`/api/v1/leads/${byCompany.id}`), 204, 'delete');
    assert.ok(!(await related(agent, a.id)).some((x) => x.id === byCompany.id), 'a deleted lead is not related');
  });

  it('shows only the related leads the caller may see, and nothing of a lead the caller may not see', async () => {
    const mail = `vis.${u()}@example.com`;
    const mine = await make(agent, { emails: [mail] });
    const theirs = await make(other, { emails: [mail] });
    assert.deepEqual((await related(agent, mine.id)).map((x) => x.id), [], 'another agent\'s lead is hidden (leads.view own)');
    assert.deepEqual((await related(admin, mine.id)).map((x) => x.id), [theirs.id], 'an admin sees it');
    expectError(await other.get(`/api/v1/leads/${mine.id}/related`), 404, 'not_found');
  });

  it('a create with check_duplicates=1 answers 409 with the open leads sharing an e-mail or phone; without it, never refuses', async () => {
    const mail = `dup.${u()}@example.com`;
    const first = await make(agent, { emails: [mail], phones: ['+1 415 555 0142'], country: 'US' });
    let r = await agent.post('/api/v1/leads?check_duplicates=1', { full_name: 'Again', emails: [mail.toUpperCase()] });
    expectError(r, 409, 'conflict');
    assert.equal(r.body.duplicates.length, 1);
    assert.equal(r.body.duplicates[0].id, first.id);
    assert.equal(r.body.duplicates[0].visible, true);
    assert.deepEqual(r.body.duplicates[0].matched, [{ key: 'email', value: mail }]);
    r = await agent.post('/api/v1/leads?check_duplicates=1', { full_name: 'Again', phones: ['(415) 555-0142'], country: 'US' });
    expectError(r, 409, 'conflict');
    assert.deepEqual(r.body.duplicates[0].matched, [{ key: 'phone', value: '+14155550142' }]);
    // another agent's lead is named without its details
    r = await other.post('/api/v1/leads?check_duplicates=1', { full_name: 'Again', emails: [mail] });
    expectError(r, 409, 'conflict');
    assert.equal(r.body.duplicates[0].visible, false);
    assert.equal(r.body.duplicates[0].full_name, undefined);
    assert.equal(r.body.duplicates[0].owner_name, 'Alice Agent');
    // nothing was created by the refusals; without the flag the create goes through
    const before = (await related(admin, first.id)).length;
    assert.equal(before, 0);
    const again = await make(agent, { emails: [mail] });
    assert.deepEqual((await related(agent, first.id)).map((x) => x.id), [again.id]);
    // a closed lead is no duplicate
    const closedMail = `closed.${u()}@example.com`;
    const c = await make(agent, { emails: [closedMail] });
    expectStatus(await agent.post(`/api/v1/leads/${c.id}/close`, { outcome: 'won' }), 200);
    await make(agent, { emails: [closedMail] }, '?check_duplicates=1');
  });

  const importCsv = async (csv, query) => {
    const r = await request(w.srv, 'POST', `/api/v1/import/leads${query}`, { token: admin.token, raw: csv, contentType: 'text/csv' });
    expectStatus(r, 202, 'import');
    let job;
    await until('import done', async () => {
      job = (await admin.get(`/api/v1/jobs/${r.body.job_id}`)).body;
      return job.status === 'done' || job.status === 'failed' ? job : null;
    });
    assert.equal(job.status, 'done', JSON.stringify(job));
    return job.result;
  };

  it('import with on_duplicate=update updates the open lead, skip leaves it, create (the default) duplicates', async () => {
    const mail = `imp.${u()}@example.com`;
    const lead = await make(admin, { emails: [mail], city: 'Leeds' });
    const name = `Imported ${u()}`;
    const fresh = `fresh.${u()}@example.com`;
    const csv = `full_name,emails,phones,city\r\n${name},${mail.toUpperCase()},+44 7700 900123,York\r\nNew ${u()},${fresh},,Bath\r\nNew twin,${fresh},,Hull\r\n`;
    // dry run: says what would happen, changes nothing
    let res = await importCsv(csv, '?on_duplicate=update&dry_run=1');
    assert.deepEqual([res.would_create, res.would_update, res.would_skip, res.failed], [2, 1, 0, 0]);
    assert.equal((await admin.get(`/api/v1/leads/${lead.id}`)).body.city, 'Leeds');
    res = await importCsv(csv, '?on_duplicate=update');
    assert.deepEqual([res.created, res.updated, res.skipped, res.failed], [1, 2, 0, 0], JSON.stringify(res));
    const got = (await admin.get(`/api/v1/leads/${lead.id}`)).body;
    assert.equal(got.city, 'York', 'the row updated the open lead');
    assert.equal(got.full_name, name);
    assert.deepEqual(got.emails, [mail], 'addresses added, none duplicated');
    assert.deepEqual(got.phones, ['+447700900123']);
    const tl = items(await admin.get(`/api/v1/leads/${lead.id}/timeline`)).map((e) => e.kind);
    assert.ok(tl.includes('updated'), 'the update is on the timeline (through the planner)');
    const freshRel = await related(admin, lead.id);
    assert.equal(freshRel.length, 0, 'no second lead with that address');
    // skip: nothing changes; create: a duplicate is made
    res = await importCsv(`full_name,emails,city\r\nSkip me,${mail},Derby\r\n`, '?on_duplicate=skip');
    assert.deepEqual([res.created, res.updated, res.skipped], [0, 0, 1]);
    assert.equal((await admin.get(`/api/v1/leads/${lead.id}`)).body.city, 'York');
    res = await importCsv(`full_name,emails,city\r\nTwin,${mail},Derby\r\n`, '');
    assert.equal(res.created, 1);
    assert.equal((await related(admin, lead.id)).length, 1);
    const bad = await request(w.srv, 'POST', '/api/v1/import/leads?on_duplicate=merge', { token: admin.token, raw: csv, contentType: 'text/csv' });
    expectError(bad, 422, 'validation_failed');
  });

  it('merges leads: a dry run writes nothing; the survivor takes the chosen values and every record; the others close as merged', async () => {
    const company = `Merge Co ${u()}`;
    const surv = await make(agent, { full_name: 'Sam Survivor', emails: [`sam.${u()}@example.com`], company, city: 'Oslo' });
    const bMail = `bee.${u()}@example.com`;
    const b = await make(agent, { full_name: 'Bea Duplicate', emails: [bMail], phones: ['+4722334455'], company, city: 'Bergen', request: 'Fibre please', created_at: undefined });
    // B is further along the path, with a task, a comment, a conversation and a group
    const stages = items(await admin.get('/api/v1/stages'));
    const quoted = stages.find((s) => s.name === 'Quoted');
    expectStatus(await agent.patch(`/api/v1/leads/${b.id}`, { stage_id: quoted.id }), 200, 'stage');
    const task = (await agent.post(`/api/v1/leads/${b.id}/tasks`, { type: 'call', title: 'Call Bea back' })).body;
    expectStatus(await agent.post(`/api/v1/leads/${b.id}/comments`, { body: 'Bea prefers mornings' }), 201, 'comment');
    const inb = await request(w.srv, 'POST', '/api/v1/inbound/email', { body: { from: bMail, to: 'sales@leadpath.test',
      subject: 'Question', body: 'When can you connect us?', message_id: `m-${u()}@example.com` }, headers: { 'X-Leadpath-Inbound-Secret': SECRET } });
    expectStatus(inb, 200, 'inbound');
    assert.equal(inb.body.lead_id, b.id);
    const groups = items(await admin.get('/api/v1/groups'));
    expectStatus(await admin.post('/api/v1/leads/bulk', { ids: [b.id], action: 'add_to_group', params: { group_id: groups[1].id } }), 200);
    // C was closed lost before: it keeps its outcome and gets the link
    const c = await make(agent, { emails: [`cee.${u()}@example.com`], company });
    const reasons = items(await admin.get('/api/v1/lost-reasons'));
    expectStatus(await agent.post(`/api/v1/leads/${c.id}/close`, { outcome: 'lost', reason_id: reasons[0].id }), 200, 'close c');

    const bBefore = (await agent.get(`/api/v1/leads/${b.id}`)).body;
    const survBefore = (await agent.get(`/api/v1/leads/${surv.id}`)).body;
    const body = { other_ids: [b.id, c.id], fields: { full_name: surv.id } };
    // dry run: the plan, nothing written
    const dry = await agent.post(`/api/v1/leads/${surv.id}/merge?dry_run=1`, body);
    expectStatus(dry, 200, 'dry run');
    assert.equal(dry.body.dry_run, true);
    const plan = dry.body.plan;
    assert.equal(plan.lead.full_name, 'Sam Survivor', 'the chosen value');
    assert.equal(plan.lead.stage_id, quoted.id, 'default: the later stage');
    assert.equal(plan.lead.city, 'Bergen', 'default: the open lead at the later stage');
    assert.equal(plan.sources.city, b.id);
    assert.equal(plan.sources.full_name, surv.id);
    assert.equal(plan.sources.emails, 'all');
    assert.equal(plan.lead.emails.length, 3, 'addresses of all leads');
    assert.ok(plan.moved.tasks >= 1 && plan.moved.threads === 1 && plan.moved.messages === 1 && plan.moved.comments === 1, JSON.stringify(plan.moved));
    assert.equal(plan.others.length, 2);
    assert.equal(plan.others.find((o) => o.id === b.id).outcome, 'merged');
    assert.equal(plan.others.find((o) => o.id === c.id).outcome, 'lost', 'a lead closed before keeps its outcome');
    assert.ok(plan.events.includes('merged'));
    const bAfterDry = (await agent.get(`/api/v1/leads/${b.id}`)).body;
    assert.equal(bAfterDry.version, bBefore.version, 'the dry run wrote nothing');
    assert.equal(bAfterDry.status, 'open');
    assert.equal((await agent.get(`/api/v1/tasks/${task.id}`)).body.lead_id, b.id);
    assert.equal((await agent.get(`/api/v1/leads/${surv.id}`)).body.version, survBefore.version);

    // a stale If-Match is refused
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, body, { headers: { 'If-Match': `"${survBefore.version + 5}"` } }), 412, 'version_mismatch');
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { ...body, versions: { [b.id]: bBefore.version - 1 } }), 412, 'version_mismatch');

    const r = await agent.post(`/api/v1/leads/${surv.id}/merge`, body, { headers: { 'If-Match': `"${survBefore.version}"` } });
    expectStatus(r, 200, 'merge');
    assert.deepEqual(r.body.merged_ids, [b.id, c.id]);
    const s = r.body.lead;
    assert.equal(s.full_name, 'Sam Survivor');
    assert.equal(s.city, 'Bergen');
    assert.equal(s.stage_id, quoted.id);
    assert.equal(s.request, 'Fibre please');
    assert.ok(s.emails.includes(bMail) && s.phones.includes('+4722334455'));
    assert.ok(s.groups.includes(groups[1].id), 'groups joined');
    assert.equal(s.status, 'open');

    const bNow = (await agent.get(`/api/v1/leads/${b.id}`)).body;
    assert.equal(bNow.status, 'closed');
    assert.equal(bNow.outcome, 'merged');
    assert.equal(bNow.merged_into, surv.id);
    const cNow = (await agent.get(`/api/v1/leads/${c.id}`)).body;
    assert.equal(cNow.outcome, 'lost');
    assert.equal(cNow.merged_into, surv.id);

    // every kind of record moved
    assert.equal((await agent.get(`/api/v1/tasks/${task.id}`)).body.lead_id, surv.id, 'task moved');
    const th = items(await agent.get(`/api/v1/leads/${surv.id}/threads`));
    assert.equal(th.length, 1, 'thread moved');
    const msgs = items(await agent.get(`/api/v1/threads/${th[0].id}/messages`));
    assert.equal(msgs[0].body, 'When can you connect us?');
    assert.deepEqual(items(await agent.get(`/api/v1/leads/${b.id}/threads`)), []);

    // the timeline tells the story, on both
    const tl = items(await agent.get(`/api/v1/leads/${surv.id}/timeline?limit=200`));
    const kinds = tl.map((e) => e.kind);
    for (const k of ['merged', 'comment', 'message_in', 'stage_changed', 'created'])
      assert.ok(kinds.includes(k), `survivor's timeline has ${k}: ${kinds.join(',')}`);
    assert.ok(tl.some((e) => e.kind === 'comment' && JSON.stringify(e).includes('Bea prefers mornings')));
    const merged = tl.find((e) => e.kind === 'merged');
    assert.deepEqual(merged.data.from, [b.id, c.id]);
    assert.ok(merged.data.changes.city, 'the merged event lists the changes');
    const btl = items(await agent.get(`/api/v1/leads/${b.id}/timeline`)).map((e) => e.kind);
    assert.ok(btl.includes('merged_into') && btl.includes('closed'), btl.join(','));
    assert.ok(!btl.includes('comment'), 'the comment moved away');
    const ev = items(await agent.get(`/api/v1/leads/${b.id}/timeline`)).find((e) => e.kind === 'merged_into');
    assert.equal(ev.data.into, surv.id);

    // related leads show the merged ones with their outcome
    const rel = await related(agent, surv.id);
    assert.equal(rel.find((x) => x.id === b.id).outcome, 'merged');

    // refusals
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [surv.id] }), 422, 'validation_failed');
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [b.id] }), 409, 'conflict');
    const d = await make(agent, { company });
    expectError(await agent.post(`/api/v1/leads/${b.id}/merge`, { other_ids: [d.id] }), 409, 'conflict');
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [] }), 422, 'validation_failed');
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [d.id], fields: { score: d.id } }), 422, 'validation_failed');
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [d.id], fields: { city: 999999 } }), 422, 'validation_failed');
    const hidden = await make(other, { company });
    expectError(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [hidden.id] }), 404, 'not_found');
    // the short form {other_id}
    const e = await make(agent, { company });
    expectStatus(await agent.post(`/api/v1/leads/${surv.id}/merge`, { other_id: e.id }), 200, 'short form');
  });

  it('the role\'s merge permission is respected', async () => {
    const roles = items(await admin.get('/api/v1/roles'));
    const agentRole = roles.find((x) => x.name === 'agent');
    expectStatus(await admin.patch(`/api/v1/roles/${agentRole.id}`, { policy: { merge: 'deny' } }), 200, 'deny merge');
    try {
      const a = await make(agent, {});
      const b = await make(agent, {});
      await until('policy seen', async () => {
        const r = await agent.post(`/api/v1/leads/${a.id}/merge?dry_run=1`, { other_ids: [b.id] });
        return r.status === 403 ? r : null;
      });
      expectError(await agent.post(`/api/v1/leads/${a.id}/merge`, { other_ids: [b.id] }), 403, 'forbidden');
      assert.equal((await agent.get(`/api/v1/leads/${b.id}`)).body.status, 'open');
      expectError(await admin.patch(`/api/v1/roles/${agentRole.id}`, { policy: { merge: 'maybe' } }), 422, 'validation_failed');
    } finally {
      expectStatus(await admin.patch(`/api/v1/roles/${agentRole.id}`, { policy: { merge: 'allow' } }), 200, 'allow merge');
    }
  });

  it('the report counters equal the recomputed ones after the merges above', async () => {
    const res = await runCli(['reports', 'check', '--db', w.srv.db]);
    assert.equal(res.code, 0, `reports check: ${res.stdout}${res.stderr}`);
  });
});
