// 60-daily: the daily tool's server parts — GET /dashboard with scope=mine|team (respecting
// leads.view) and its task lists (follow-ups within now ± the window, overdue before it, never
// both), and the CSV export with names beside ids and phones that stay phones (read back by the
// import).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, isoNow, DAY, HOUR, FILE_TIMEOUT_MS, request, until } from './lib.mjs';

let w;
let admin;
let manager;
let agent;
let agent2;
let other;
before(async () => { w = await startWorld(); ({ admin, manager, agent, agent2, other } = w.users); });
after(async () => { if (w) await w.srv.stop(); });

const task = async (c, leadId, title, dueMs, extra = {}) =>
  expectStatus(await c.post(`/api/v1/leads/${leadId}/tasks`, { type: 'call', title, due_at: isoNow(dueMs), ...extra }), 201);

describe('dashboard scope and task lists', { timeout: FILE_TIMEOUT_MS }, () => {
  const L = {};
  const T = {};
  before(async () => {
    L.a = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Dash Agent Lead', owner_id: agent.id }), 201);
    L.b = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Dash Agent2 Lead', owner_id: agent2.id }), 201);
    L.m = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Dash Manager Lead', owner_id: manager.id }), 201);
    L.o = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Dash Outside Lead', owner_id: other.id }), 201);
    T.soon = await task(admin.c, L.a.id, 'Call in two days', 2 * DAY);
    T.tomorrow = await task(admin.c, L.a.id, 'Call tomorrow', 20 * HOUR);
    T.lateInWindow = await task(admin.c, L.a.id, 'Missed yesterday', -1 * DAY);
    T.old = await task(admin.c, L.a.id, 'Missed last week', -7 * DAY);
    T.far = await task(admin.c, L.a.id, 'Next month', 30 * DAY);
    T.team = await task(admin.c, L.b.id, 'Agent2 call', 1 * DAY);
    T.teamOld = await task(admin.c, L.b.id, 'Agent2 missed', -10 * DAY);
    T.outside = await task(admin.c, L.o.id, 'Outside call', 1 * DAY);
  });

  it('answers the follow-up and overdue tasks themselves, never the same task twice', async () => {
    const d = expectStatus(await agent.c.get('/api/v1/dashboard'), 200);
    assert.equal(d.scope, 'mine');
    assert.equal(d.follow_up_window_days, 3);
    const fu = d.follow_up_items.map((t) => t.id);
    const od = d.overdue_items.map((t) => t.id);
    assert.deepEqual(fu, [T.lateInWindow.id, T.tomorrow.id, T.soon.id], 'within now ± 3 days, soonest first');
    assert.deepEqual(od, [T.old.id], 'overdue before the window only');
    assert.equal(fu.filter((id) => od.includes(id)).length, 0);
    assert.equal(d.follow_ups, 3);
    assert.equal(d.follow_up_total, 3);
    assert.equal(d.overdue, 2, 'every task past due counts');
    assert.equal(d.overdue_total, 1);
    const item = d.follow_up_items.find((t) => t.id === T.tomorrow.id);
    assert.deepEqual({ ...item, created_at: undefined }, {
      id: T.tomorrow.id, title: 'Call tomorrow', type: 'call', due_at: T.tomorrow.due_at, lead_id: L.a.id,
      lead_name: 'Dash Agent Lead', assignee_id: agent.id, created_at: undefined, overdue: false,
    });
    assert.equal(d.follow_up_items.find((t) => t.id === T.lateInWindow.id).overdue, true);
    assert.equal(d.open_leads, 1);
  });

  it('a follow-up just created is in the list at once', async () => {
    const t = await task(agent.c, L.a.id, 'Created a moment ago', 2 * HOUR);
    const d = expectStatus(await agent.c.get('/api/v1/dashboard'), 200);
    assert.ok(d.follow_up_items.some((x) => x.id === t.id));
    expectStatus(await agent.c.patch(`/api/v1/tasks/${t.id}`, { status: 'done' }), 200);
    const d2 = expectStatus(await agent.c.get('/api/v1/dashboard'), 200);
    assert.ok(!d2.follow_up_items.some((x) => x.id === t.id), 'a done task leaves the list');
  });

  it('scope=team gives a manager the team (own and reports), never people outside it', async () => {
    const mine = expectStatus(await manager.c.get('/api/v1/dashboard?scope=mine'), 200);
    assert.equal(mine.scope, 'mine');
    assert.equal(mine.open_leads, 1);
    assert.equal(mine.follow_up_items.length, 0);
    const team = expectStatus(await manager.c.get('/api/v1/dashboard?scope=team'), 200);
    assert.equal(team.scope, 'team');
    assert.equal(team.open_leads, 3, 'the manager, agent and agent2; not other');
    const ids = team.follow_up_items.map((t) => t.id);
    for (const t of [T.soon, T.tomorrow, T.lateInWindow, T.team]) assert.ok(ids.includes(t.id), t.title);
    assert.ok(!ids.includes(T.outside.id), 'not a task of someone outside the team');
    assert.deepEqual(team.overdue_items.map((t) => t.id), [T.old.id, T.teamOld.id], 'most recently due first');
    assert.equal(team.overdue, 3, "the agents' three tasks past due");
    assert.equal(team.follow_up_items.find((t) => t.id === T.team.id).assignee_id, agent2.id);
  });

  it('scope=team for an agent (leads.view own) answers its own figures; an admin sees everyone', async () => {
    const a = expectStatus(await agent.c.get('/api/v1/dashboard?scope=team'), 200);
    assert.equal(a.scope, 'mine');
    assert.equal(a.open_leads, 1);
    assert.ok(!a.follow_up_items.some((t) => t.id === T.team.id));
    const ad = expectStatus(await admin.c.get('/api/v1/dashboard?scope=team'), 200);
    assert.equal(ad.scope, 'team');
    assert.ok(ad.open_leads >= 4);
    assert.ok(ad.follow_up_items.some((t) => t.id === T.outside.id));
  });

  it('a bad scope answers 422 naming the parameter', async () => {
    const e = expectError(await agent.c.get('/api/v1/dashboard?scope=everyone'), 422, 'validation_failed');
    assert.ok('scope' in e.fields);
  });
});

// ---- the CSV export ---------------------------------------------------------------------------

// A minimal RFC 4180 reader for the test (quoted cells, doubled quotes, CRLF).
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') q = false; else cell += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\n') { row.push(cell.replace(/\r$/, '')); rows.push(row); row = []; cell = ''; } else cell += ch;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

describe('CSV export: names beside ids, phones stay phones', { timeout: FILE_TIMEOUT_MS }, () => {
  let lead;
  let header;
  let row;
  before(async () => {
    const stage = (await admin.c.get('/api/v1/stages')).body.items.find((s) => s.name === 'Contacted');
    const source = expectStatus(await admin.c.post('/api/v1/sources', { name: 'Trade fair' }), 201);
    const reason = (await admin.c.get('/api/v1/lost-reasons')).body.items[0];
    lead = expectStatus(await admin.c.post('/api/v1/leads', {
      full_name: 'Export Names', owner_id: agent.id, stage_id: stage.id, source_id: source.id,
      phones: ['+44 7700 900123', '+49 30 1234567'], emails: ['names@example.com'], company: '=HYPERLINK("x")',
    }), 201);
    expectStatus(await admin.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'lost', reason_id: reason.id }), 200);
    const r = await request(w.srv, 'GET', '/api/v1/export/leads?status=all&owner=any&q=Export%20Names', { token: admin.token });
    assert.equal(r.status, 200);
    const rows = parseCsv(r.text);
    header = rows[0];
    row = Object.fromEntries(header.map((h, i) => [h, rows.find((x) => x[0] === String(lead.id))[i]]));
    row.reason = reason;
    row.stage = stage;
    row.source = source;
  });

  it('carries owner, stage, source and lost reason names beside their ids', () => {
    for (const k of ['owner_name', 'stage_name', 'source_name', 'lost_reason_name', 'location_name', 'partner_name']) assert.ok(header.includes(k), k);
    assert.equal(row.owner_id, String(agent.id));
    assert.equal(row.owner_name, 'Alice Agent');
    assert.equal(row.owner_email, 'agent@e2e.test');
    assert.equal(row.stage_name, 'Contacted');
    assert.equal(row.source_name, 'Trade fair');
    assert.equal(row.lost_reason_id, String(row.reason.id));
    assert.equal(row.lost_reason_name, row.reason.name);
    assert.equal(row.location_name, '');
  });

  it('writes phones as RFC 3966 tel: URIs (text in any spreadsheet), and still defuses formulas elsewhere', () => {
    assert.equal(row.phones, 'tel:+44-7700-900123; tel:+49-30-1234567');
    assert.ok(!/^[=+\-@]/.test(row.phones));
    assert.equal(row.company, '\'=HYPERLINK("x")', 'a formula in another field keeps its apostrophe guard');
  });

  it('the import reads the export back: phones, names ignored, owner by e-mail', async () => {
    const keep = ['full_name', 'phones', 'emails', 'owner_email', 'owner_name', 'stage_name', 'source_name', 'company'];
    const csv = keep.join(',') + '\r\n' + keep.map((k) => {
      const v = k === 'full_name' ? 'Export Names Again' : k === 'emails' ? 'again@example.com' : row[k];
      return /[",\r\n]/.test(v) || /^[=+\-@]/.test(v) ? '"' + (/^[=+\-@]/.test(v) ? '\'' : '') + v.replace(/"/g, '""') + '"' : v;
    }).join(',') + '\r\n';
    const r = await admin.c.post('/api/v1/import/leads', undefined, { raw: csv, contentType: 'text/csv' });
    assert.equal(r.status, 202, r.text);
    const job = await until('import done', async () => {
      const j = (await admin.c.get(`/api/v1/jobs/${r.body.job_id}`)).body;
      return j.status === 'done' ? j : null;
    });
    assert.equal(job.result.created, 1, JSON.stringify(job));
    const found = (await admin.c.get('/api/v1/leads?q=Export%20Names%20Again&owner=any')).body.items[0];
    assert.deepEqual(found.phones, ['+447700900123', '+49301234567']);
    assert.equal(found.owner_id, agent.id);
    assert.equal(found.company, '=HYPERLINK("x")');
  });
});

describe('the closed view', { timeout: FILE_TIMEOUT_MS }, () => {
  it('status=closed lists the most recently closed first without a sort', async () => {
    // closed history migrated in: an admin may give status, outcome and closed_at
    const mk = async (name, closedDaysAgo) => expectStatus(await admin.c.post('/api/v1/leads', {
        full_name: name, owner_id: manager.id, status: 'closed', outcome: 'won',
        created_at: isoNow(-40 * DAY), closed_at: isoNow(-closedDaysAgo * DAY),
      }), 201);
    const older = await mk('Closed Long Ago', 20);
    const newer = await mk('Closed Lately', 2);
    const middle = await mk('Closed Between', 10);
    const items = expectStatus(await manager.c.get('/api/v1/leads?status=closed&owner=me'), 200).items;
    const order = items.map((l) => l.id).filter((id) => [older.id, newer.id, middle.id].includes(id));
    assert.deepEqual(order, [newer.id, middle.id, older.id]);
    assert.ok(items.every((l, i) => !i || items[i - 1].closed_at >= l.closed_at), 'closed_at descending');
  });
});
