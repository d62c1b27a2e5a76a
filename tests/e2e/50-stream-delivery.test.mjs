// 50-stream-delivery.test.mjs — a message's delivery states on the live stream (GET /stream):
// an e-mail queued then sent to a real SMTP server on loopback, an SMS sent through the fake
// gateway then reported delivered by the provider's signed callback, and an e-mail the mail server
// refuses (failed with the reason) each come as events of the lead (message_out, message_sent,
// message_delivered, message_failed) carrying `message: {id, thread_id, status, channel, error?}`,
// in order, so the lead page updates the message without reading it again; and on the timeline.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, u, until, items, openStream } from './lib.mjs';
import { startSmtp, startSmsGateway } from './mailservers.mjs';

describe('delivery states on the live stream', () => {
  let w, smtp, sms, agent;
  before(async () => {
    smtp = await startSmtp();
    sms = await startSmsGateway();
    w = await startWorld();
    agent = w.users.agent;
    expectStatus(await w.users.admin.c.patch('/api/v1/settings', {
      smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_tls: 'none', mail_from: 'sales@leadpath.test', inbound_domain: 'in.leadpath.test',
      sms_gateway_url: sms.messagesUrl, sms_account: sms.accountSid, sms_token: sms.authToken, sms_from: '+15005550006',
      public_url: `${w.srv.base}/`,
    }), 200, 'settings');
  });
  after(async () => {
    await w?.srv.stop();
    await smtp?.stop();
    await sms?.stop();
  });

  const states = (s, id) => s.events.filter((e) => e.data.message && e.data.message.id === id);

  it('an e-mail: queued, then sent, each with the message\'s state', async () => {
    const s = await openStream(w.srv, agent.token);
    await until('connected', () => s.comments > 0);
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Dora ${u()}`, emails: [`dora.${u()}@example.com`] }), 201);
    const m = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Hi', body: 'Hello' }), 202);
    await until('sent on the stream', () => states(s, m.id).some((e) => e.event === 'message_sent'));
    const evs = states(s, m.id);
    assert.deepEqual(evs.map((e) => e.event), ['message_out', 'message_sent'], 'queued, then sent, in order');
    assert.deepEqual(evs.map((e) => e.data.message.status), ['queued', 'sent']);
    for (const e of evs) {
      assert.equal(e.data.lead_id, lead.id);
      assert.equal(e.data.message.thread_id, m.thread_id);
      assert.equal(e.data.message.channel, 'email');
      assert.equal(e.data.entity, 'message');
      assert.equal(e.data.entity_id, m.id);
    }
    // the same states on the lead's timeline
    const tl = items(await agent.c.get(`/api/v1/leads/${lead.id}/timeline?limit=100`));
    const sentEv = tl.find((e) => e.kind === 'message_sent');
    assert.ok(sentEv, 'message_sent on the timeline');
    assert.equal(sentEv.data.message_id, m.id);
    s.close();
  });

  it('an SMS: sent, then delivered by the provider\'s callback', async () => {
    const s = await openStream(w.srv, agent.token);
    await until('connected', () => s.comments > 0);
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Eli ${u()}`, phones: ['+1 415 555 0177'], country: 'US' }), 201);
    const m = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'sms', body: `text ${u()}` }), 202);
    await until('sent on the stream', () => states(s, m.id).some((e) => e.event === 'message_sent'));
    const gw = sms.messages.find((x) => x.body === m.body);
    assert.equal(await sms.sendStatus(gw.sid, 'delivered'), 200);
    await until('delivered on the stream', () => states(s, m.id).some((e) => e.event === 'message_delivered'));
    assert.deepEqual(states(s, m.id).map((e) => e.data.message.status), ['queued', 'sent', 'delivered']);
    s.close();
  });

  it('a refused e-mail: failed, with the mail server\'s reason', async () => {
    const s = await openStream(w.srv, agent.token);
    await until('connected', () => s.comments > 0);
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Finn ${u()}`, emails: [`reject.${u()}@example.com`] }), 201);
    const m = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Hi', body: 'Hello' }), 202);
    await until('failed on the stream', () => states(s, m.id).some((e) => e.event === 'message_failed'));
    const f = states(s, m.id).find((e) => e.event === 'message_failed');
    assert.equal(f.data.message.status, 'failed');
    assert.match(f.data.message.error, /refused/i);
    assert.match(f.data.message.error, /550/);
    assert.ok(!states(s, m.id).some((e) => e.event === 'message_sent'), 'never sent');
    s.close();
  });
});
