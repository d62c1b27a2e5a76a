// 41-conversations.test.mjs — talking to a lead: an agent writes an email (typed or from a
// template), leadpath delivers it to a real SMTP server on loopback with threading headers and a
// reply+token address; the lead's reply (raw RFC 5322 or JSON, as a provider's webhook posts it)
// lands on the same thread; closing an engagement refuses sending and a later reply opens a new
// thread; opt-outs refuse; SMS goes through a gateway speaking the common provider shape, with
// retries through an outage; bounces mark the message failed; templates are checked when saved.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectError, expectStatus, items, until, u, request } from './lib.mjs';
import { startSmtp, startSmsGateway } from './mailservers.mjs';

const SECRET = 'inbound-secret-for-the-tests-123';

describe('conversations', () => {
  let w, smtp, sms, admin, agent;
  before(async () => {
    smtp = await startSmtp();
    sms = await startSmsGateway();
    w = await startWorld({ args: ['--sweep-seconds', '1'] });
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    const s = await admin.patch('/api/v1/settings', {
      smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_tls: 'none', mail_from: 'sales@leadpath.test',
      mail_from_name: 'Leadpath Sales', inbound_domain: 'in.leadpath.test', company_name: 'Fibre & Co',
      sms_gateway_url: sms.messagesUrl, sms_account: sms.accountSid, sms_token: sms.authToken, sms_from: '+15005550006',
      inbound_secret: SECRET, smtp_password: 'not-shown',
    });
    expectStatus(s, 200, 'settings');
    assert.equal(s.body.smtp_password, undefined, 'a password is never read back');
    assert.equal(s.body.smtp_password_set, true);
  });
  after(async () => {
    await w?.srv.stop();
    await smtp?.stop();
    await sms?.stop();
  });

  const newLead = async (extra = {}) => {
    const r = await agent.post('/api/v1/leads', { full_name: `Ana ${u()}`, emails: [`ana.${u()}@example.com`],
      request: 'Fibre to the house & a <router>, please', country: 'US', phones: ['+1 415 555 0100'], ...extra });
    expectStatus(r, 201, 'create lead');
    return r.body;
  };
  const rawPost = (path, raw, contentType, headers) => request(w.srv, 'POST', path, { raw, contentType, headers });

  it('sends an email from a template, threaded, with a reply address, and records its delivery', async () => {
    const lead = await newLead();
    const tpls = items(await agent.get('/api/v1/templates'));
    const quick = tpls.find((t) => t.kind === 'message' && t.channel === 'email');
    assert.ok(quick, 'a seeded quick reply');
    const before = smtp.messages().length;
    const r = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', template_id: quick.id });
    expectStatus(r, 202, 'send');
    assert.equal(r.body.status, 'queued');
    assert.equal(r.body.direction, 'out');
    assert.match(r.body.body, /Fibre to the house & a <router>, please/, 'the lead\'s request quoted back');
    assert.match(r.body.body, /Alice Agent/);
    const got = await smtp.waitFor(before + 1);
    const mail = got[got.length - 1];
    assert.deepEqual(mail.rcptTos, [lead.emails[0]]);
    assert.match(mail.text, /^Subject: Your request\r?$/m);
    assert.match(mail.text, /^Reply-To: reply\+[a-z2-7]{24}@in\.leadpath\.test\r?$/m);
    assert.match(mail.text, /^Message-ID: <[^>]+>\r?$/mi, "header names are case-insensitive");
    assert.match(mail.text, /Fibre to the house/);
    // the message's state follows delivery
    const th = items(await agent.get(`/api/v1/leads/${lead.id}/threads`));
    assert.equal(th.length, 1);
    assert.equal(th[0].channel, 'email');
    assert.equal(th[0].status, 'open');
    await until('sent', async () => {
      const m = items(await agent.get(`/api/v1/threads/${th[0].id}/messages`));
      return m[0].status === 'sent' && m[0].message_id;
    });
    const lead2 = (await agent.get(`/api/v1/leads/${lead.id}`)).body;
    assert.ok(lead2.last_contacted_at, 'last_contacted_at kept current');
    const tl = items(await agent.get(`/api/v1/leads/${lead.id}/timeline?limit=100`)).map((e) => e.kind);
    assert.ok(tl.includes('thread_opened') && tl.includes('message_out'), tl.join(','));
  });

  it('a reply finds its thread by the reply address, then by headers; a reply to a closed thread opens a new one', async () => {
    const lead = await newLead();
    const s = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Your fibre quote', body: 'Here it is.' });
    expectStatus(s, 202, 'send');
    const mails = await smtp.waitFor(smtp.messages().length);
    await until('sent', async () => (await agent.get(`/api/v1/threads/${s.body.thread_id}/messages`)).body.items[0].status === 'sent');
    const sent = items(await agent.get(`/api/v1/threads/${s.body.thread_id}/messages`))[0];
    const mail = smtp.messages().find((m) => m.text.includes(`<${sent.message_id}>`));
    assert.ok(mail, 'the mail as sent');
    const replyTo = /^Reply-To: (\S+)\r?$/m.exec(mail.text)[1];

    // 1. by the reply token, posted raw as a provider's inbound webhook would
    const raw1 = [`From: Ana <${lead.emails[0]}>`, `To: ${replyTo}`, 'Subject: Re: Your fibre quote',
      'Message-ID: <reply-1-' + u() + '@example.com>', 'Date: Mon, 07 Dec 2026 10:00:00 +0000', '', 'Looks good, when can you start?', ''].join('\r\n');
    let r = await rawPost('/api/v1/inbound/email', raw1, 'message/rfc822', { 'X-Leadpath-Inbound-Secret': SECRET });
    expectStatus(r, 200, 'inbound raw');
    assert.equal(r.body.rule, 'reply_token');
    assert.equal(r.body.thread_id, s.body.thread_id);
    assert.equal(r.body.message.matched_by, 'reply_token');
    // the same delivery again is stored once
    const again = await rawPost('/api/v1/inbound/email', raw1, 'message/rfc822', { 'X-Leadpath-Inbound-Secret': SECRET });
    expectStatus(again, 200, 'repeat');
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.message.id, r.body.message.id);

    // 2. by In-Reply-To (JSON form), sent to a plain address
    r = await admin.post('/api/v1/inbound/email', { from: lead.emails[0], to: 'sales@leadpath.test', subject: 'Re: Your fibre quote',
      body: 'One more question', message_id: `q2-${u()}@example.com`, in_reply_to: sent.message_id });
    expectStatus(r, 200, 'inbound json');
    assert.equal(r.body.rule, 'header');
    assert.equal(r.body.thread_id, s.body.thread_id);

    // a wrong secret changes nothing
    const bad = await rawPost('/api/v1/inbound/email', raw1, 'message/rfc822', { 'X-Leadpath-Inbound-Secret': 'nope' });
    expectError(bad, 401, 'unauthorized');

    // closing the engagement: sending is refused, the transcript stays
    const c = await agent.post(`/api/v1/threads/${s.body.thread_id}/close`, { notify_lead: false });
    expectStatus(c, 200, 'close thread');
    assert.equal(c.body.status, 'closed');
    const refused = await agent.post(`/api/v1/leads/${lead.id}/messages`, { thread_id: s.body.thread_id, body: 'hello?' });
    expectError(refused, 409, 'conflict');
    assert.equal(items(await agent.get(`/api/v1/threads/${s.body.thread_id}/messages`)).length, 3);

    // a reply after closing opens a new thread on the same lead
    r = await rawPost('/api/v1/inbound/email', raw1.replace(/Message-ID: <[^>]+>/, `Message-ID: <late-${u()}@example.com>`),
      'message/rfc822', { 'X-Leadpath-Inbound-Secret': SECRET });
    expectStatus(r, 200, 'late reply');
    assert.equal(r.body.rule, 'new_thread');
    assert.equal(r.body.lead_id, lead.id);
    assert.notEqual(r.body.thread_id, s.body.thread_id);
    const threads = items(await agent.get(`/api/v1/leads/${lead.id}/threads`));
    assert.equal(threads.length, 2);
    assert.equal(threads[0].status, 'open');
  });

  it('an unknown sender becomes a new lead with the message; automatic mail from nobody known is dropped', async () => {
    const from = `new.${u()}@example.org`;
    let r = await admin.post('/api/v1/inbound/email', { from, to: 'sales@leadpath.test', subject: 'Do you do fibre?', body: 'Please call me' });
    expectStatus(r, 200, 'new lead');
    assert.equal(r.body.rule, 'new_lead');
    const lead = (await admin.get(`/api/v1/leads/${r.body.lead_id}`)).body;
    assert.deepEqual(lead.emails, [from]);
    const raw = [`From: ${from.replace('new', 'bot')}`, 'To: sales@leadpath.test', 'Auto-Submitted: auto-replied', 'Subject: Out of office', '', 'Away', ''].join('\r\n');
    r = await rawPost('/api/v1/inbound/email', raw, 'message/rfc822', { 'X-Leadpath-Inbound-Secret': SECRET });
    expectStatus(r, 200, 'auto reply');
    assert.ok(r.body.dropped);
  });

  it('refuses a channel the lead opted out of, and a lead without an address', async () => {
    const lead = await newLead({ email_opt_out: true });
    const r = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Hi', body: 'Hello' });
    expectError(r, 422, 'validation_failed');
    assert.match(r.body.error.fields.channel, /opted out of email/);
    const none = await agent.post('/api/v1/leads', { full_name: `No Mail ${u()}` });
    const r2 = await agent.post(`/api/v1/leads/${none.body.id}/messages`, { channel: 'email', subject: 'Hi', body: 'Hello' });
    expectError(r2, 422, 'validation_failed');
    assert.match(r2.body.error.fields.channel, /no email address/);
    assert.equal(items(await agent.get(`/api/v1/leads/${lead.id}/threads`)).length, 0, 'nothing written');
  });

  it('SMS: delivered through the gateway after an outage; STOP sets the opt-out, START clears it', async () => {
    const lead = await newLead();
    sms.failNext(2, 503);
    const r = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'sms', body: 'Your installer comes at 9' });
    expectStatus(r, 202, 'sms');
    await until('sms sent', async () => (await agent.get(`/api/v1/threads/${r.body.thread_id}/messages`)).body.items[0].status === 'sent', 30_000);
    assert.equal(sms.messages.filter((m) => m.body === 'Your installer comes at 9').length, 1, 'exactly once');
    const stop = await admin.post('/api/v1/inbound/sms', { from: '+14155550100', to: '+15005550006', body: ' stop ', message_id: `SM${u()}` });
    expectStatus(stop, 200, 'STOP');
    const after = (await agent.get(`/api/v1/leads/${lead.id}`)).body;
    assert.equal(after.sms_opt_out, true);
    const refused = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'sms', body: 'again' });
    expectError(refused, 422, 'validation_failed');
    const tl = items(await agent.get(`/api/v1/leads/${lead.id}/timeline?limit=100`));
    assert.ok(tl.some((e) => e.kind === 'opt_out_changed' && e.data.source), 'the change on the timeline with its source');
    await admin.post('/api/v1/inbound/sms', { from: '+14155550100', body: 'START', message_id: `SM${u()}` });
    assert.equal((await agent.get(`/api/v1/leads/${lead.id}`)).body.sms_opt_out, false);
  });

  it('a bounce marks the message failed, with the reason, and tells its sender', async () => {
    const lead = await newLead();
    const s = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Offer', body: 'Our offer' });
    expectStatus(s, 202, 'send');
    let sent;
    await until('sent', async () => { sent = items(await agent.get(`/api/v1/threads/${s.body.thread_id}/messages`))[0]; return sent.status === 'sent'; });
    const dsn = ['From: MAILER-DAEMON@mx.example.com', 'To: sales@leadpath.test', 'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"', '',
      '--b1', 'Content-Type: text/plain', '', 'Your message could not be delivered.', '',
      '--b1', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.com', '',
      `Final-Recipient: rfc822; ${lead.emails[0]}`, 'Action: failed', 'Status: 5.1.1', 'Diagnostic-Code: smtp; 550 5.1.1 No such user', '',
      '--b1', 'Content-Type: text/rfc822-headers', '', `Message-ID: <${sent.message_id}>`, `To: ${lead.emails[0]}`, 'Subject: Offer', '',
      '--b1--', ''].join('\r\n');
    const r = await rawPost('/api/v1/inbound/email', dsn, 'message/rfc822', { 'X-Leadpath-Inbound-Secret': SECRET });
    expectStatus(r, 200, 'bounce');
    assert.equal(r.body.bounce, sent.id);
    const m = items(await agent.get(`/api/v1/threads/${s.body.thread_id}/messages`));
    assert.equal(m.length, 1, 'a bounce opens nothing');
    assert.equal(m[0].status, 'failed');
    assert.match(m[0].error, /No such user/);
    const notes = items(await agent.get('/api/v1/notifications?unread=1'));
    assert.ok(notes.some((n) => n.kind === 'message_failed'), 'the sender is told');
  });

  it('a review request uses its template and cannot be repeated too soon', async () => {
    const lead = await newLead();
    const r = await agent.post(`/api/v1/leads/${lead.id}/review-request`, { channel: 'email' });
    expectStatus(r, 202, 'review');
    assert.equal(r.body.kind, 'review_request');
    assert.match(r.body.body, /Fibre & Co/);
    assert.ok((await agent.get(`/api/v1/leads/${lead.id}`)).body.review_requested_at);
    const again = await agent.post(`/api/v1/leads/${lead.id}/review-request`, { channel: 'email' });
    expectError(again, 409, 'conflict');
    assert.match(again.body.error.message, /review was requested/);
  });

  it('templates: an unknown placeholder is refused when saved', async () => {
    let r = await w.users.manager.c.post('/api/v1/templates', { name: 'Bad', channel: 'email', subject: 'Hi {{lead.nmae}}', body: 'x' });
    expectError(r, 422, 'validation_failed');
    assert.match(r.body.error.fields.subject, /lead\.nmae/);
    r = await agent.post('/api/v1/templates', { name: 'Mine', channel: 'sms', body: 'Hi {{lead.first_name}}' });
    expectError(r, 403, 'forbidden');
    r = await w.users.manager.c.post('/api/v1/templates', { name: 'Follow-up', channel: 'sms', body: 'Hi {{lead.first_name}}, any news?' });
    expectStatus(r, 201, 'template');
    assert.equal(r.body.kind, 'message');
  });
  it('a reply marks the lead "needs reply" (dashboard, lists) until someone answers; lists sort and filter by last contact', async () => {
    const lead = await newLead();
    const other = await newLead();
    expectStatus(await admin.post('/api/v1/inbound/email', { from: lead.emails[0], to: 'sales@leadpath.test', subject: 'Question', body: 'Are you there?' }), 200, 'inbound');
    let got = (await agent.get(`/api/v1/leads/${lead.id}`)).body;
    assert.equal(got.needs_reply, true);
    assert.equal((await agent.get(`/api/v1/leads/${other.id}`)).body.needs_reply, false);
    const dash = (await agent.get('/api/v1/dashboard')).body;
    assert.ok(dash.needs_reply >= 1, 'counted on the dashboard');
    let listed = items(await agent.get('/api/v1/leads?needs_reply=1&limit=500')).map((l) => l.id);
    assert.ok(listed.includes(lead.id) && !listed.includes(other.id), 'the list filter');
    expectError(await agent.get('/api/v1/leads?needs_reply=maybe'), 422, 'validation_failed');
    const byContact = items(await agent.get('/api/v1/leads?sort=-last_contacted_at&limit=1'));
    assert.equal(byContact[0].id, lead.id, 'the most recently contacted lead first');
    const from = new Date(Date.parse(got.last_contacted_at) - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    listed = items(await agent.get(`/api/v1/leads?contacted_from=${from}&limit=500`)).map((l) => l.id);
    assert.ok(listed.includes(lead.id) && !listed.includes(other.id), 'contacted_from');
    // an answer clears it
    const th = items(await agent.get(`/api/v1/leads/${lead.id}/threads`))[0];
    expectStatus(await agent.post(`/api/v1/leads/${lead.id}/messages`, { thread_id: th.id, body: 'Yes, here!' }), 202, 'answer');
    got = (await agent.get(`/api/v1/leads/${lead.id}`)).body;
    assert.equal(got.needs_reply, false);
    listed = items(await agent.get('/api/v1/leads?needs_reply=1&limit=500')).map((l) => l.id);
    assert.ok(!listed.includes(lead.id));
  });
});
