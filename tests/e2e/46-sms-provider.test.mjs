// 46-sms-provider.test.mjs — the SMS provider's own shape: inbound texts as signed form posts
// (From, To, Body, MessageSid, X-Twilio-Signature over public_url + path with the account token)
// land on the lead's SMS thread, wrongly signed or unsigned ones are refused 401 and store
// nothing; outbound SMS carry a StatusCallback and the provider's signed status callbacks move
// them to delivered, or to failed with the error.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectError, expectStatus, items, until, u, request } from './lib.mjs';
import { startSmsGateway, providerSignature } from './mailservers.mjs';

describe('SMS provider webhooks', () => {
  let w, sms, admin, agent, inboundUrl;
  before(async () => {
    sms = await startSmsGateway();
    w = await startWorld();
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    const s = await admin.patch('/api/v1/settings', {
      sms_gateway_url: sms.messagesUrl, sms_account: sms.accountSid, sms_token: sms.authToken, sms_from: '+15005550006',
      public_url: `${w.srv.base}/`,
    });
    expectStatus(s, 200, 'settings');
    assert.equal(s.body.public_url, `${w.srv.base}/`);
    inboundUrl = `${w.srv.base}/api/v1/inbound/sms/provider`;
  });
  after(async () => {
    await w?.srv.stop();
    await sms?.stop();
  });

  let n = 0;
  const newLead = async () => {
    n += 1;
    const phone = `+1415555${String(1000 + n)}`;
    const r = await agent.post('/api/v1/leads', { full_name: `Bea ${u()}`, phones: [phone], country: 'US', request: 'Fibre' });
    expectStatus(r, 201, 'create lead');
    return { lead: r.body, phone };
  };
  const smsThreadMessages = async (leadId) => {
    const t = items(await agent.get(`/api/v1/leads/${leadId}/threads`)).find((x) => x.channel === 'sms');
    return t ? items(await agent.get(`/api/v1/threads/${t.id}/messages`)) : [];
  };

  it('a signed inbound form post lands on the lead\'s SMS thread', async () => {
    const { lead, phone } = await newLead();
    const out = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'sms', body: 'Shall we come on Monday?' });
    expectStatus(out, 202, 'send');
    const r = await sms.sendInbound(inboundUrl, { From: phone, To: '+15005550006', Body: 'Yes, Monday & 9 am works' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rule, 'address');
    assert.equal(r.body.lead_id, lead.id);
    assert.equal(r.body.thread_id, out.body.thread_id, 'the thread the SMS went out on');
    const msgs = await smsThreadMessages(lead.id);
    const got = msgs.find((m) => m.direction === 'in');
    assert.ok(got, 'the text is on the thread');
    assert.equal(got.body, 'Yes, Monday & 9 am works');
    assert.equal(got.from, phone);
  });

  it('a wrongly signed, unsigned or tampered post is refused 401 and stores nothing', async () => {
    const { lead, phone } = await newLead();
    const count = async () => items(await admin.get('/api/v1/leads?limit=200')).length;
    const leadsBefore = await count();
    const fields = { From: phone, To: '+15005550006', Body: 'forged' };
    const wrongKey = providerSignature('not-the-token', inboundUrl, { ...fields, MessageSid: 'SMx' });
    for (const signature of [wrongKey, null, '']) {
      const r = await sms.sendInbound(inboundUrl, fields, { signature });
      expectError(r, 401, 'unauthorized', `signature ${signature}`);
    }
    // Signed for another URL (another path) is not signed for this one.
    const params = { From: phone, To: '+15005550006', Body: 'forged', MessageSid: 'SM1' };
    const other = await request(w.srv, 'POST', '/api/v1/inbound/sms/provider', {
      raw: new URLSearchParams(params).toString(), contentType: 'application/x-www-form-urlencoded',
      headers: { 'X-Twilio-Signature': providerSignature(sms.authToken, `${w.srv.base}/api/v1/inbound/sms`, params) } });
    expectError(other, 401, 'unauthorized', 'another URL');
    // The right signature of other parameters.
    const tampered = await request(w.srv, 'POST', '/api/v1/inbound/sms/provider', {
      raw: new URLSearchParams({ ...params, Body: 'changed' }).toString(), contentType: 'application/x-www-form-urlencoded',
      headers: { 'X-Twilio-Signature': providerSignature(sms.authToken, inboundUrl, params) } });
    expectError(tampered, 401, 'unauthorized', 'tampered');
    assert.equal(items(await agent.get(`/api/v1/leads/${lead.id}/threads`)).length, 0, 'no thread opened');
    // Nor from an unknown number, which would otherwise make a lead.
    const stranger = await sms.sendInbound(inboundUrl, { From: '+14155559999', Body: 'hi' }, { signature: wrongKey });
    expectError(stranger, 401, 'unauthorized', 'stranger');
    assert.equal(await count(), leadsBefore, 'no lead made');
  });

  it('outbound SMS ask for status callbacks; delivered marks it delivered, undelivered marks it failed with the error', async () => {
    const { lead } = await newLead();
    const a = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'sms', body: `first ${u()}` });
    const b = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'sms', body: `second ${u()}` });
    expectStatus(a, 202, 'a');
    expectStatus(b, 202, 'b');
    const sent = async (id) => (await smsThreadMessages(lead.id)).find((m) => m.id === id);
    await until('both sent', async () => (await sent(a.body.id))?.status === 'sent' && (await sent(b.body.id))?.status === 'sent');
    const gwA = sms.messages.find((m) => m.body === a.body.body);
    const gwB = sms.messages.find((m) => m.body === b.body.body);
    assert.equal(gwA.statusCallback, `${w.srv.base}/api/v1/inbound/sms/status`, 'StatusCallback from public_url');
    assert.equal(await sms.sendStatus(gwA.sid, 'delivered'), 200);
    const da = await sent(a.body.id);
    assert.equal(da.status, 'delivered');
    assert.ok(da.delivered_at, 'delivered_at set');
    assert.equal(da.error, null);
    assert.equal(await sms.sendStatus(gwB.sid, 'undelivered', 30003), 200);
    const db = await sent(b.body.id);
    assert.equal(db.status, 'failed');
    assert.match(db.error, /undelivered.*30003/);
    const tl = items(await agent.get(`/api/v1/leads/${lead.id}/timeline?limit=100`));
    assert.ok(tl.some((e) => e.kind === 'message_failed' && e.data.message_id === b.body.id), 'the failure on the timeline');
    // A late "sent" does not undo delivered; an unknown sid is 404; a forged callback is 401 and changes nothing.
    const late = { MessageSid: gwA.sid, MessageStatus: 'failed' };
    const forged = await request(w.srv, 'POST', '/api/v1/inbound/sms/status', {
      raw: new URLSearchParams(late).toString(), contentType: 'application/x-www-form-urlencoded',
      headers: { 'X-Twilio-Signature': providerSignature('wrong', `${w.srv.base}/api/v1/inbound/sms/status`, late) } });
    expectError(forged, 401, 'unauthorized', 'forged callback');
    assert.equal((await sent(a.body.id)).status, 'delivered', 'unchanged');
    const unknown = { MessageSid: 'SMnope', MessageStatus: 'delivered' };
    const nf = await request(w.srv, 'POST', '/api/v1/inbound/sms/status', {
      raw: new URLSearchParams(unknown).toString(), contentType: 'application/x-www-form-urlencoded',
      headers: { 'X-Twilio-Signature': providerSignature(sms.authToken, `${w.srv.base}/api/v1/inbound/sms/status`, unknown) } });
    expectError(nf, 404, 'not_found', 'unknown sid');
  });
});
