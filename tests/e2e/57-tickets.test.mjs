// 57-tickets.test.mjs — support tickets (docs/tickets.md): opened on a lead or a customer on
// behalf of the person asking (requester), with subject, body, priority, status, assignee and
// comments; every change an event on the lead's timeline (a customer's history) in the same
// transaction; If-Match; leads.view (own, team, all) and the assignee; the list of all tickets
// with status, q, assignee and priority; a converted lead's tickets are its customer's; merging
// leads moves their tickets to the survivor. Also related leads' customers (an existing customer
// sharing an e-mail, phone or company). Runs on SQLite, and on PostgreSQL with LEADPATH_TEST_PG_URL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items, walk, u, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
let admin;
let agent;
let agent2;
let manager;
let other;

before(async () => {
  w = await startWorld();
  ({ admin, agent, agent2, manager, other } = w.users);
});
after(async () => { if (w) await w.srv.stop(); });

const timeline = async (id) => walk(admin.c, `/api/v1/leads/${id}/timeline`, 500);
const newLead = async (extra = {}, c = agent.c) => expectStatus(await c.post('/api/v1/leads', {
  full_name: `Tina Ticket ${u()}`, emails: [`tina.${u()}@example.com`], ...extra,
}), 201, 'lead');
const open = async (leadId, body, c = agent.c) => expectStatus(await c.post(`/api/v1/leads/${leadId}/tickets`, body), 201, 'ticket');

describe('tickets on a lead', { timeout: FILE_TIMEOUT_MS }, () => {
  it('opens a ticket on behalf of the lead with sensible defaults, on the timeline', async () => {
    const lead = await newLead();
    const r = await agent.c.post(`/api/v1/leads/${lead.id}/tickets`, { subject: 'Router keeps rebooting', body: 'Since Monday, every hour.' });
    const t = expectStatus(r, 201);
    assert.equal(r.headers.location, `/api/v1/tickets/${t.id}`);
    assert.equal(t.lead_id, lead.id);
    assert.equal(t.customer_id, null);
    assert.equal(t.lead_name, lead.full_name);
    assert.equal(t.status, 'open');
    assert.equal(t.priority, 'normal');
    assert.equal(t.requester, `${lead.full_name} <${lead.emails[0]}>`);
    assert.equal(t.assignee_id, null);
    assert.equal(t.created_by, agent.id);
    assert.equal(t.version, 1);
    assert.equal(t.comment_count, 0);
    assert.deepEqual(t.comments, []);
    const ev = (await timeline(lead.id)).find((e) => e.kind === 'ticket_opened');
    assert.ok(ev, 'ticket_opened on the lead timeline');
    assert.equal(ev.data.ticket_id, t.id);
    assert.equal(ev.data.subject, 'Router keeps rebooting');
    assert.equal(ev.actor_id, agent.id);
    const t2 = await open(lead.id, { subject: 'Invoice question', priority: 'urgent', requester: 'Tom (her husband)', assignee_id: agent2.id });
    assert.equal(t2.priority, 'urgent');
    assert.equal(t2.requester, 'Tom (her husband)');
    assert.equal(t2.assignee_id, agent2.id);
    assert.equal(t2.assignee_name, 'Bob Agent');
    // the assignee is told
    const notes = items(await agent2.c.get('/api/v1/notifications'));
    const n = notes.find((x) => x.kind === 'ticket_assigned' && x.data.ticket_id === t2.id);
    assert.ok(n, 'ticket_assigned notification');
    assert.equal(n.lead_id, lead.id);
  });

  it('refuses bad input with each field named and changes nothing', async () => {
    const lead = await newLead();
    const e = expectError(await agent.c.post(`/api/v1/leads/${lead.id}/tickets`, {
      subject: '   ', priority: 'asap', body: 42, status: 'closed', assignee_id: 'bob',
    }), 422, 'validation_failed');
    for (const f of ['subject', 'priority', 'body', 'status', 'assignee_id']) assert.ok(e.fields[f], `${f} named: ${JSON.stringify(e.fields)}`);
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/tickets`, {}), 422, 'validation_failed');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/tickets`, { subject: 'x'.repeat(301) }), 422, 'validation_failed');
    const unknown = expectError(await agent.c.post(`/api/v1/leads/${lead.id}/tickets`, { subject: 'Hi', assignee_id: 999999 }), 422, 'validation_failed');
    assert.ok(unknown.fields.assignee_id);
    expectError(await other.c.post(`/api/v1/leads/${lead.id}/tickets`, { subject: 'Not mine' }), 404, 'not_found');
    expectError(await agent.c.post('/api/v1/leads/99999999/tickets', { subject: 'Nobody' }), 404, 'not_found');
    assert.equal(items(await agent.c.get(`/api/v1/leads/${lead.id}/tickets`)).length, 0, 'nothing made');
    assert.ok(!(await timeline(lead.id)).some((x) => x.kind === 'ticket_opened'));
  });

  it('changes, closes and reopens with If-Match; each change an event; a no-op writes nothing', async () => {
    const lead = await newLead();
    const t = await open(lead.id, { subject: 'Slow line' });
    const g = await agent.c.get(`/api/v1/tickets/${t.id}`);
    expectStatus(g, 200);
    assert.equal(g.headers.etag, '"1"');
    const p = expectStatus(await agent.c.patch(`/api/v1/tickets/${t.id}`, { priority: 'high', subject: 'Slow line at night' },
      { headers: { 'If-Match': '"1"' } }), 200);
    assert.equal(p.version, 2);
    assert.equal(p.priority, 'high');
    expectError(await agent.c.patch(`/api/v1/tickets/${t.id}`, { priority: 'low' }, { headers: { 'If-Match': '"1"' } }), 412, 'version_mismatch');
    expectError(await agent.c.patch(`/api/v1/tickets/${t.id}`, { status: 'done' }), 422, 'validation_failed');
    const same = expectStatus(await agent.c.patch(`/api/v1/tickets/${t.id}`, { priority: 'high' }), 200);
    assert.equal(same.version, 2, 'nothing changed, no new version');
    const c = expectStatus(await agent.c.patch(`/api/v1/tickets/${t.id}`, { status: 'closed', version: 2 }), 200);
    assert.equal(c.status, 'closed');
    assert.ok(c.closed_at);
    assert.equal(c.closed_by, agent.id);
    const o = expectStatus(await agent.c.patch(`/api/v1/tickets/${t.id}`, { status: 'open' }), 200);
    assert.equal(o.status, 'open');
    assert.equal(o.closed_at, null);
    const ev = (await timeline(lead.id)).filter((e) => e.data?.ticket_id === t.id);
    assert.deepEqual(ev.map((e) => e.kind).sort(), ['ticket_closed', 'ticket_opened', 'ticket_reopened', 'ticket_updated']);
    const upd = ev.find((e) => e.kind === 'ticket_updated');
    assert.deepEqual(upd.data.changes.priority, { old: 'normal', new: 'high' });
    assert.deepEqual(upd.data.changes.subject, { old: 'Slow line', new: 'Slow line at night' });
  });

  it('comments on a ticket: listed oldest first with their author; counted; on the timeline', async () => {
    const lead = await newLead();
    const t = await open(lead.id, { subject: 'No dial tone' });
    const c1 = expectStatus(await agent.c.post(`/api/v1/tickets/${t.id}/comments`, { body: 'Called her back, line test booked.' }), 201);
    assert.equal(c1.author_id, agent.id);
    assert.equal(c1.author_name, 'Alice Agent');
    assert.equal(c1.ticket_id, t.id);
    expectStatus(await manager.c.post(`/api/v1/tickets/${t.id}/comments`, { body: 'Engineer sent <b>today</b>' }), 201);
    expectError(await agent.c.post(`/api/v1/tickets/${t.id}/comments`, { body: '' }), 422, 'validation_failed');
    expectError(await other.c.post(`/api/v1/tickets/${t.id}/comments`, { body: 'Sneaky' }), 404, 'not_found');
    const g = expectStatus(await agent.c.get(`/api/v1/tickets/${t.id}`), 200);
    assert.equal(g.comment_count, 2);
    assert.equal(g.version, 1, 'a comment is no edit of the fields');
    assert.deepEqual(g.comments.map((x) => [x.body, x.author_name]),
      [['Called her back, line test booked.', 'Alice Agent'], ['Engineer sent <b>today</b>', 'Max Manager']]);
    const ev = (await timeline(lead.id)).filter((e) => e.kind === 'ticket_comment');
    assert.equal(ev.length, 2);
    assert.equal(ev[0].data.ticket_id, t.id);
  });

  it('lists a lead\'s tickets open first, then the newest; status narrows it', async () => {
    const lead = await newLead();
    const a = await open(lead.id, { subject: 'First' });
    const b = await open(lead.id, { subject: 'Second' });
    const c = await open(lead.id, { subject: 'Third' });
    expectStatus(await agent.c.patch(`/api/v1/tickets/${c.id}`, { status: 'closed' }), 200);
    assert.deepEqual(items(await agent.c.get(`/api/v1/leads/${lead.id}/tickets`)).map((x) => x.id), [b.id, a.id, c.id]);
    assert.deepEqual(items(await agent.c.get(`/api/v1/leads/${lead.id}/tickets?status=closed`)).map((x) => x.id), [c.id]);
    assert.deepEqual(items(await agent.c.get(`/api/v1/leads/${lead.id}/tickets?status=open`)).map((x) => x.id), [b.id, a.id]);
    expectError(await agent.c.get(`/api/v1/leads/${lead.id}/tickets?status=done`), 422, 'validation_failed');
    expectError(await other.c.get(`/api/v1/leads/${lead.id}/tickets`), 404, 'not_found');
  });
});

describe('who sees tickets, and the list of all tickets', { timeout: FILE_TIMEOUT_MS }, () => {
  it('follows leads.view: the owner, the owner\'s manager, admins, and the assignee; nobody else', async () => {
    const lead = await newLead();
    const t = await open(lead.id, { subject: `Visibility ${u()}` });
    expectStatus(await agent.c.get(`/api/v1/tickets/${t.id}`), 200);
    expectStatus(await manager.c.get(`/api/v1/tickets/${t.id}`), 200, 'manager of the owner (team)');
    expectStatus(await admin.c.get(`/api/v1/tickets/${t.id}`), 200);
    expectError(await other.c.get(`/api/v1/tickets/${t.id}`), 404, 'not_found');
    expectError(await other.c.patch(`/api/v1/tickets/${t.id}`, { status: 'closed' }), 404, 'not_found');
    assert.ok(!items(await other.c.get('/api/v1/tickets?status=all')).some((x) => x.id === t.id));
    // assigning it to someone outside makes it theirs to see
    expectStatus(await agent.c.patch(`/api/v1/tickets/${t.id}`, { assignee_id: other.id }), 200);
    expectStatus(await other.c.get(`/api/v1/tickets/${t.id}`), 200, 'the assignee sees it');
    assert.ok(items(await other.c.get('/api/v1/tickets?assignee=me')).some((x) => x.id === t.id));
    expectError(await other.c.get(`/api/v1/leads/${lead.id}`), 404, 'not_found', 'the lead itself stays hidden');
  });

  it('filters by status, q, assignee and priority, pages by cursor', async () => {
    const tag = u('zq');
    const lead = await newLead({ full_name: `Quentin ${tag}` });
    const a = await open(lead.id, { subject: `Billing ${tag} twice`, priority: 'high' });
    const b = await open(lead.id, { subject: 'Wifi drops', body: `Only upstairs ${tag}`, assignee_id: agent2.id });
    const c = await open(lead.id, { subject: 'Old matter' });
    expectStatus(await agent.c.patch(`/api/v1/tickets/${c.id}`, { status: 'closed' }), 200);
    const ids = async (q) => items(await agent.c.get(`/api/v1/tickets${q}`)).map((x) => x.id);
    assert.deepEqual(await ids(`?q=${tag.toUpperCase()}`), [b.id, a.id], 'q: subject and body, case folded; open by default');
    assert.deepEqual(await ids(`?q=quentin&status=all`), [c.id, b.id, a.id], 'q: the lead\'s name');
    assert.deepEqual(await ids(`?q=${tag}&priority=high`), [a.id]);
    assert.deepEqual(await ids(`?q=${tag}&assignee=${agent2.id}`), [b.id]);
    assert.deepEqual(await ids(`?q=quentin&status=closed`), [c.id]);
    assert.deepEqual(await ids('?q=100%25_off'), [], 'LIKE wildcards are literal');
    const p1 = expectStatus(await agent.c.get(`/api/v1/tickets?q=quentin&status=all&limit=2`), 200);
    assert.deepEqual(p1.items.map((x) => x.id), [c.id, b.id]);
    assert.ok(p1.next_cursor);
    const p2 = expectStatus(await agent.c.get(`/api/v1/tickets?q=quentin&status=all&limit=2&cursor=${p1.next_cursor}`), 200);
    assert.deepEqual(p2.items.map((x) => x.id), [a.id]);
    assert.equal(p2.next_cursor, null);
    for (const q of ['?status=pending', '?priority=asap', '?assignee=bob', '?limit=0']) expectError(await agent.c.get(`/api/v1/tickets${q}`), 422, 'validation_failed');
  });
});

describe('customers\' tickets, merged leads, related customers', { timeout: FILE_TIMEOUT_MS }, () => {
  it('a customer\'s tickets are its lead\'s too, and a converted lead\'s new tickets name the customer', async () => {
    const lead = await newLead({ company: `Cust Co ${u()}` });
    const before = await open(lead.id, { subject: 'Before conversion' });
    const conv = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, {
      mode: 'active_invoice', services: [{ description: 'Support plan', quantity: 1, unit_price_cents: 1000, period: 'monthly' }],
    }), 201, 'convert');
    const cust = conv.customer;
    const r = await agent.c.post(`/api/v1/customers/${cust.id}/tickets`, { subject: 'After: bill too high', priority: 'high' });
    const t = expectStatus(r, 201);
    assert.equal(t.customer_id, cust.id);
    assert.equal(t.lead_id, lead.id, 'the customer\'s lead');
    assert.equal(t.customer_name, cust.full_name);
    assert.equal(t.requester, `${cust.full_name} <${cust.emails[0]}>`);
    const viaLead = await open(lead.id, { subject: 'Via the closed lead' });
    assert.equal(viaLead.customer_id, cust.id, 'a converted lead\'s ticket is its customer\'s');
    assert.deepEqual(items(await agent.c.get(`/api/v1/customers/${cust.id}/tickets`)).map((x) => x.id), [viaLead.id, t.id]);
    assert.deepEqual(items(await agent.c.get(`/api/v1/leads/${lead.id}/tickets`)).map((x) => x.id), [viaLead.id, t.id, before.id]);
    expectError(await other.c.get(`/api/v1/customers/${cust.id}/tickets`), 404, 'not_found');
    expectError(await other.c.post(`/api/v1/customers/${cust.id}/tickets`, { subject: 'x' }), 404, 'not_found');
    const ev = (await timeline(lead.id)).find((e) => e.kind === 'ticket_opened' && e.data.ticket_id === t.id);
    assert.equal(ev.data.customer_id, cust.id, 'on the customer\'s history (its lead\'s timeline)');
  });

  it('merging leads moves their tickets to the survivor (counted in the preview)', async () => {
    const surv = await newLead();
    const gone = await newLead();
    const t = await open(gone.id, { subject: 'Follows the merge' });
    expectStatus(await agent.c.post(`/api/v1/tickets/${t.id}/comments`, { body: 'kept' }), 201);
    const dry = expectStatus(await agent.c.post(`/api/v1/leads/${surv.id}/merge?dry_run=1`, { other_ids: [gone.id] }), 200);
    assert.equal(dry.plan.moved.tickets, 1);
    const m = expectStatus(await agent.c.post(`/api/v1/leads/${surv.id}/merge`, { other_ids: [gone.id] }), 200);
    assert.equal(m.moved.tickets, 1);
    const moved = expectStatus(await agent.c.get(`/api/v1/tickets/${t.id}`), 200);
    assert.equal(moved.lead_id, surv.id);
    assert.equal(moved.comments.length, 1);
    assert.deepEqual(items(await agent.c.get(`/api/v1/leads/${surv.id}/tickets`)).map((x) => x.id), [t.id]);
    assert.deepEqual(items(await agent.c.get(`/api/v1/leads/${gone.id}/tickets`)), []);
  });

  it('related leads list the existing customers sharing an e-mail, phone or company (not the lead\'s own)', async () => {
    const mail = `shared.${u()}@example.com`;
    const company = `Shared Works ${u()}`;
    const first = await newLead({ emails: [mail], phones: ['+33 1 23 45 67 89'], company, country: 'FR' });
    const conv = expectStatus(await agent.c.post(`/api/v1/leads/${first.id}/convert`, {
      mode: 'active_invoice', services: [{ description: 'Plan', quantity: 1, unit_price_cents: 500, period: 'monthly' }],
    }), 201);
    const cust = conv.customer;
    await open(first.id, { subject: 'Open one' });
    // the converted lead itself does not list its own customer
    assert.deepEqual(expectStatus(await agent.c.get(`/api/v1/leads/${first.id}/related`), 200).customers, []);
    const byMail = await newLead({ emails: [mail.toUpperCase()] });
    const byPhone = await newLead({ emails: [], phones: ['01 23 45 67 89'], country: 'FR' });
    const byCompany = await newLead({ emails: [], company: ` ${company.toLowerCase()}  ` });
    const none = await newLead();
    const rel = async (id, c = agent.c) => expectStatus(await c.get(`/api/v1/leads/${id}/related`), 200).customers;
    const m = await rel(byMail.id);
    assert.equal(m.length, 1);
    assert.equal(m[0].id, cust.id);
    assert.equal(m[0].full_name, cust.full_name);
    assert.equal(m[0].active, true);
    assert.equal(m[0].lead_id, first.id);
    assert.equal(m[0].open_tickets, 1);
    assert.equal(m[0].owner_name, 'Alice Agent');
    assert.deepEqual(m[0].matched, [{ key: 'email', value: mail }]);
    assert.deepEqual((await rel(byPhone.id))[0].matched, [{ key: 'phone', value: '+33123456789' }]);
    assert.equal((await rel(byCompany.id))[0].matched[0].key, 'company');
    assert.deepEqual(await rel(none.id), []);
    // a customer the caller may not see is left out
    const mine = await newLead({ emails: [mail] }, other.c);
    assert.deepEqual(await rel(mine.id, other.c), []);
    // a customer's changed address follows
    expectStatus(await agent.c.patch(`/api/v1/customers/${cust.id}`, { emails: [`moved.${u()}@example.com`] }), 200);
    assert.deepEqual(await rel(byMail.id), []);
    assert.equal((await rel(byPhone.id)).length, 1);
  });
});
