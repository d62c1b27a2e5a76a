// 49-inbound-address.test.mjs — an inbound message finds its sender's lead by the exact address
// (lower-cased e-mail, E.164 phone) through the address rows written with the lead: a lead just
// created, one whose address changed (the old one no longer finds it), a deleted lead (found no
// more), an SMS by phone, and a burst of messages from one new sender at once (one new lead, not
// one per message: the lookup runs inside the write).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, u } from './lib.mjs';

const SECRET = 'inbound-secret-for-the-address-tests';

describe('inbound messages find their lead by exact address', () => {
  let w, admin, agent;
  before(async () => {
    w = await startWorld();
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    expectStatus(await admin.patch('/api/v1/settings', { inbound_secret: SECRET, inbound_domain: 'in.leadpath.test' }), 200, 'settings');
  });
  after(async () => { await w?.srv.stop(); });

  const mail = (from, extra = {}) => admin.post('/api/v1/inbound/email', { from, to: 'sales@leadpath.test', subject: 'Hello',
    body: `A question ${u()}`, message_id: `${u('m')}@example.com`, ...extra });
  const newLead = async (extra) => expectStatus(await agent.post('/api/v1/leads', { full_name: `Bea ${u()}`, ...extra }), 201, 'create');

  it('matches a lead by its e-mail whatever the case, and by its phone for an SMS', async () => {
    const email = `bea.${u()}@example.com`;
    const lead = await newLead({ emails: [email], phones: ['+1 415 555 0142'] });
    let r = expectStatus(await mail(email.toUpperCase()), 200, 'inbound');
    assert.equal(r.lead_id, lead.id);
    assert.equal(r.rule, 'new_thread', 'no open thread yet: a new one on the lead');
    r = expectStatus(await mail(email), 200, 'second');
    assert.equal(r.lead_id, lead.id);
    assert.equal(r.rule, 'address', 'the open thread of that lead');
    const s = expectStatus(await admin.post('/api/v1/inbound/sms', { from: '+14155550142', body: 'Call me', message_id: u('SM') }), 200, 'sms');
    assert.equal(s.lead_id, lead.id);
  });

  it('follows an address change and a deletion', async () => {
    const old = `old.${u()}@example.com`, now = `new.${u()}@example.com`;
    const lead = await newLead({ emails: [old] });
    const p = await agent.patch(`/api/v1/leads/${lead.id}`, { emails: [now] }, { headers: { 'If-Match': `"${lead.version}"` } });
    expectStatus(p, 200, 'patch');
    let r = expectStatus(await mail(now), 200, 'new address');
    assert.equal(r.lead_id, lead.id, 'the new address finds the lead');
    r = expectStatus(await mail(old), 200, 'old address');
    assert.equal(r.rule, 'new_lead', 'the old address is no longer the lead\'s');
    assert.notEqual(r.lead_id, lead.id);

    const gone = await newLead({ emails: [`gone.${u()}@example.com`] });
    expectStatus(await admin.del(`/api/v1/leads/${gone.id}`), 204, 'delete');
    r = expectStatus(await mail(gone.emails[0]), 200, 'after delete');
    assert.equal(r.rule, 'new_lead', 'a deleted lead is not matched');
    assert.notEqual(r.lead_id, gone.id);
  });

  it('a burst of messages from one new sender makes one lead', async () => {
    const from = `burst.${u()}@example.org`;
    const rs = await Promise.all(Array.from({ length: 12 }, () => mail(from)));
    for (const r of rs) expectStatus(r, 200, 'burst');
    const leads = new Set(rs.map((r) => r.body.lead_id));
    assert.equal(leads.size, 1, `one lead for one sender, got ${[...leads]}`);
    assert.equal(rs.filter((r) => r.body.rule === 'new_lead').length, 1, 'exactly one message made the lead');
    const threads = new Set(rs.map((r) => r.body.thread_id));
    assert.equal(threads.size, 1, 'and one thread');
  });
});
