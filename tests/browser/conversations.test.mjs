// conversations.test.mjs — talking to a lead from the lead page, against the real server: send
// an e-mail from a template and watch it go from queued to failed ("Email sending is not set
// up": the test configures no SMTP server, which is what the server really answers then) with a
// banner on its thread; a reply posted through the inbound API appears without a reload while
// the composer keeps its text; a lead who opted out of SMS gets the refusal beside the
// composer; a closed conversation greys the composer out; a second review request too soon is
// refused with the server's words; an SMS reported delivered by the provider shows "Delivered"
// straight from the live stream, without the card reading the messages again; the templates screen refuses an
// unknown placeholder; the messaging screen keeps passwords write-only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, skipReason, shot, MOCK, openPage, stopAll } from './helpers.mjs';
import { startSmsGateway } from '../e2e/mailservers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (message delivery)' : null);

describe('web UI: conversations', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page, problems, lead, quiet;

  before(async () => {
    srv = await startServer({ serverArgs: ['--sweep-seconds', '1'] });
    const settings = (await srv.api('GET', '/settings')).body;
    assert.ok(!settings.smtp_host, 'no SMTP server configured');
    let r = await srv.api('POST', '/leads', { full_name: 'Olga Orwell', emails: ['olga@example.com'], owner_id: srv.user.id,
      request: 'A <b>new</b> roof & gutters' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    lead = r.body;
    r = await srv.api('POST', '/leads', { full_name: 'Quincy Quiet', phones: ['+1 415 555 0142'], sms_opt_out: true, owner_id: srv.user.id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    quiet = r.body;
    assert.equal(quiet.sms_opt_out, true);
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1366, height: 1000 } }));
  });

  after(() => stopAll(browser, srv));

  const section = () => page.locator('section.conversations');
  const composer = () => section().locator('form.composer');

  it('sends an e-mail from a template: queued, then failed with the reason and a banner on its thread', async () => {
    await page.goto(srv.base + `/leads/${lead.id}`);
    await section().getByRole('heading', { name: 'Conversations' }).waitFor();
    await section().getByText('No conversations yet').waitFor();
    assert.match(await page.locator('.lead-head').innerText(), /not contacted yet/);
    const tpls = (await srv.api('GET', '/templates')).body.items;
    const quick = tpls.find((t) => t.channel === 'email' && t.kind === 'message' && t.active);
    assert.ok(quick, 'a seeded e-mail template');
    // only templates of the chosen channel are offered
    const offered = await composer().getByLabel('Template').locator('option').evaluateAll((os) => os.map((o) => o.textContent));
    assert.deepEqual(offered.slice(1), tpls.filter((t) => t.channel === 'email' && t.kind === 'message' && t.active).map((t) => t.name));
    await composer().getByLabel('Template').selectOption(String(quick.id));
    await composer().getByRole('button', { name: 'Send' }).click();
    await section().getByRole('status').filter({ hasText: 'queued for sending' }).waitFor();
    // the server's record: queued when answered, from the template, on a new e-mail thread
    const threads = (await srv.api('GET', `/leads/${lead.id}/threads`)).body.items;
    assert.equal(threads.length, 1);
    assert.equal(threads[0].channel, 'email');
    const thread = section().locator(`article.thread[data-thread-id="${threads[0].id}"]`);
    await thread.locator('.msg').first().waitFor();
    // the lead's request (with markup) is quoted as text, never as HTML
    const body = thread.locator('.msg-body').first();
    assert.match(await body.innerText(), /A <b>new<\/b> roof & gutters/);
    assert.equal(await body.locator('b').count(), 0, 'message text is not HTML');
    assert.match(await thread.locator('.msg-subject').first().innerText(), new RegExp(quick.subject));
    // no SMTP server: the delivery job fails it, and the page shows that without a reload
    await thread.locator('.msg[data-status="failed"]').waitFor({ timeout: 30000 });
    const msg = (await srv.api('GET', `/threads/${threads[0].id}/messages`)).body.items[0];
    assert.equal(msg.status, 'failed');
    assert.match(msg.error, /Email sending is not set up/);
    await thread.locator('.msg-state', { hasText: 'Failed' }).waitFor();
    await thread.locator('.msg-error', { hasText: 'Email sending is not set up' }).waitFor();
    const banner = thread.locator('.thread-failed[role="alert"]');
    await banner.waitFor();
    assert.match(await banner.innerText(), /not delivered[\s\S]*Email sending is not set up/);
    assert.equal(await banner.isVisible(), true);
  });

  it('a reply arrives while the page is open, matched to its thread, and the composer keeps its text', async () => {
    const thread = section().locator('article.thread').first();
    await composer().getByLabel('Message').fill('Half-written answer');
    // Right after one of the card's 5-second reads, so the next read is seconds away: a reply
    // that shows within 3 s came through the live stream (GET /api/v1/stream), not the polling.
    await page.waitForResponse((res) => res.url().endsWith(`/api/v1/leads/${lead.id}/threads`), { timeout: 8000 });
    const r = await srv.api('POST', '/inbound/email', { from: 'olga@example.com', to: 'sales@example.com', subject: 'Re: Your request',
      body: 'When can you come? <script>x</script>', message_id: `reply-${Date.now()}@example.com` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rule, 'address');
    const inbound = thread.locator('.msg-in');
    await inbound.waitFor({ timeout: 3000 });
    assert.match(await inbound.locator('.msg-body').innerText(), /When can you come\? <script>x<\/script>/);
    assert.match(await inbound.locator('.msg-match').innerText(), /matched by sender address/);
    assert.equal(await composer().getByLabel('Message').inputValue(), 'Half-written answer', 'the composer text survived the refresh');
    // last contacted follows the lead's record
    const fresh = (await srv.api('GET', `/leads/${lead.id}`)).body;
    assert.ok(fresh.last_contacted_at, 'the server recorded the contact');
    await page.locator('.lead-head time.last-contacted').waitFor({ timeout: 12000 });
    await shot(page, 'lead-conversations', { fullPage: true });
    await composer().getByLabel('Message').fill('');
  });

  it('closing a conversation greys the composer out; a new one can be started', async () => {
    const thread = section().locator('article.thread').first();
    const id = Number(await thread.getAttribute('data-thread-id'));
    await thread.getByRole('button', { name: 'Close conversation' }).click();
    const dlg = page.getByRole('dialog', { name: 'Close conversation' });
    const notify = dlg.getByLabel('Send the closing notification');
    assert.equal(await notify.isChecked(), true, 'e-mail offers the closing notification');
    await notify.uncheck();
    await dlg.getByRole('button', { name: 'Close conversation' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await composer().getByText('This conversation is closed — start a new one').waitFor();
    assert.equal(await composer().getByRole('button', { name: 'Send' }).isDisabled(), true);
    assert.equal(await composer().getByLabel('Message').isDisabled(), true);
    const t = (await srv.api('GET', `/leads/${lead.id}/threads`)).body.items.find((x) => x.id === id);
    assert.equal(t.status, 'closed');
    assert.equal((await srv.api('GET', `/threads/${id}/messages`)).body.items.length, 2, 'no closing notification was sent');
    await section().locator(`article.thread[data-thread-id="${id}"] .thread-status`, { hasText: 'Closed' }).waitFor();
    await section().getByRole('button', { name: 'New email' }).click();
    await composer().getByRole('heading', { name: 'New Email conversation' }).waitFor();
    assert.equal(await composer().getByLabel('Message').isDisabled(), false);
  });

  it('asks for a review once; asking again too soon shows the server\'s refusal', async () => {
    await section().getByRole('button', { name: 'Ask for a review' }).click();
    await section().getByRole('status').filter({ hasText: 'Review request queued' }).waitFor();
    const fresh = (await srv.api('GET', `/leads/${lead.id}`)).body;
    assert.ok(fresh.review_requested_at, 'the server recorded the request');
    await section().locator('.conv-contact', { hasText: 'review requested' }).waitFor({ timeout: 12000 });
    await section().locator('.msg', { hasText: 'review request' }).first().waitFor();
    await section().getByRole('button', { name: 'Ask for a review' }).click();
    const err = section().locator('.card-head + .conv-contact ~ .error-box[role="alert"]').first();
    await err.waitFor();
    assert.match(await err.innerText(), /review was requested/);
  });

  it('a lead who opted out of SMS: the refusal is shown beside the composer and nothing is sent', async () => {
    await page.goto(srv.base + `/leads/${quiet.id}`);
    await section().getByRole('heading', { name: 'Conversations' }).waitFor();
    await section().getByRole('button', { name: 'New SMS' }).click();
    await composer().getByRole('heading', { name: 'New SMS conversation' }).waitFor();
    assert.equal(await composer().getByLabel('Subject').count(), 0, 'no subject for SMS');
    await composer().getByLabel('Message').fill('Are you still interested?');
    await composer().getByRole('button', { name: 'Send' }).click();
    const err = composer().getByRole('alert');
    await err.waitFor();
    assert.match(await err.innerText(), /opted out of SMS/);
    assert.equal(await composer().getByLabel('Message').inputValue(), 'Are you still interested?', 'the text is kept');
    assert.equal((await srv.api('GET', `/leads/${quiet.id}/threads`)).body.items.length, 0, 'nothing written');
    // and an e-mail to a lead without an address
    await section().getByRole('button', { name: 'New email' }).click();
    await composer().getByLabel('Message').fill('Hello');
    await composer().getByRole('button', { name: 'Send' }).click();
    await composer().getByRole('alert').filter({ hasText: 'has no email address' }).waitFor();
  });

  it('the templates screen refuses an unknown placeholder and saves a good template', async () => {
    await page.goto(srv.base + '/settings/templates');
    const form = page.getByRole('form', { name: 'New template' });
    await form.getByLabel('Name').fill('Nudge');
    await form.getByLabel('Subject').fill('Hello {{lead.nmae}}');
    await form.getByLabel('Text').fill('Any news, {{lead.first_name}}?');
    await form.getByRole('button', { name: 'Add template' }).click();
    const err = form.locator('.field.has-error', { hasText: 'Subject' }).getByRole('alert');
    await err.waitFor();
    assert.match(await err.innerText(), /lead\.nmae/);
    assert.ok(!(await srv.api('GET', '/templates')).body.items.some((t) => t.name === 'Nudge'), 'nothing saved');
    await form.getByLabel('Subject').fill('Hello {{lead.first_name}}');
    await form.getByRole('button', { name: 'Add template' }).click();
    await page.getByRole('form', { name: 'Template Nudge' }).waitFor();
    const saved = (await srv.api('GET', '/templates')).body.items.find((t) => t.name === 'Nudge');
    assert.equal(saved.subject, 'Hello {{lead.first_name}}');
    assert.equal(saved.kind, 'message');
    // editing refuses a bad placeholder too, and changes nothing
    const edit = page.getByRole('form', { name: 'Template Nudge' });
    await edit.getByLabel('Text').fill('Hi {{user.nmae}}');
    await edit.getByRole('button', { name: 'Save template' }).click();
    await edit.locator('.field.has-error', { hasText: 'Text' }).getByText(/user\.nmae/).waitFor();
    assert.equal((await srv.api('GET', '/templates')).body.items.find((t) => t.id === saved.id).body, 'Any news, {{lead.first_name}}?');
  });

  it('the messaging screen saves SMTP settings and shows passwords only as set / not set', async () => {
    await page.goto(srv.base + '/settings/messaging');
    const form = page.getByRole('form', { name: 'Messaging settings' });
    await form.getByLabel('SMTP password (not set)').waitFor();
    await form.getByLabel('SMTP host').fill('mail.example.com');
    await form.getByLabel('Encryption').selectOption('starttls');
    await form.getByLabel('SMTP password (not set)').fill('s3cret-pass');
    await form.getByLabel('Company name').fill('Roof & Co');
    await form.getByRole('button', { name: 'Save messaging settings' }).click();
    await form.getByText('Saved.').waitFor();
    await form.getByLabel('SMTP password (set)').waitFor();
    assert.equal(await form.getByLabel('SMTP password (set)').inputValue(), '', 'a password is never shown');
    const s = (await srv.api('GET', '/settings')).body;
    assert.equal(s.smtp_host, 'mail.example.com');
    assert.equal(s.smtp_tls, 'starttls');
    assert.equal(s.company_name, 'Roof & Co');
    assert.equal(s.smtp_password_set, true);
    assert.equal(s.smtp_password, undefined);
    assert.notEqual(s.sms_token_set, true, 'no SMS token was given');
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });
  it('"New message" in the header finds a lead (closed ones too) and opens a new conversation on it', async () => {
    const r = await srv.api('POST', '/leads', { full_name: 'Nadia Newmessage', emails: ['nadia@example.com'], owner_id: srv.user.id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = await srv.api('POST', `/leads/${r.body.id}/close`, { outcome: 'won' });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    await page.goto(srv.base + '/');
    await page.getByRole('button', { name: 'New message' }).click();
    const dlg = page.getByRole('dialog', { name: 'New message' });
    await dlg.getByRole('searchbox', { name: 'Lead' }).fill('Nadia');
    await dlg.getByRole('button', { name: /Nadia Newmessage.*\(closed\)/ }).click();
    await page.waitForURL(new RegExp(`/leads/${r.body.id}\\?compose=email$`));
    await section().getByRole('heading', { name: 'Conversations' }).waitFor();
    await composer().getByLabel('Subject').fill('After your purchase');
    await composer().getByLabel('Message').fill('How is everything going?');
    await composer().getByRole('button', { name: 'Send' }).click();
    await section().getByText('How is everything going?').waitFor();
    const threads = (await srv.api('GET', `/leads/${r.body.id}/threads`)).body.items;
    assert.equal(threads.length, 1, 'a new conversation on the closed lead');
    assert.equal(threads[0].channel, 'email');
  });
  it('an SMS reported delivered shows "Delivered" from the live stream, without reading the messages again', async () => {
    const sms = await startSmsGateway();
    try {
      const st = await srv.api('PATCH', '/settings', { sms_gateway_url: sms.messagesUrl, sms_account: sms.accountSid,
        sms_token: sms.authToken, sms_from: '+15005550006', public_url: `${srv.base}/` });
      assert.equal(st.status, 200, JSON.stringify(st.body));
      const r = await srv.api('POST', '/leads', { full_name: 'Dana Delivered', phones: ['+1 415 555 0188'], owner_id: srv.user.id });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await page.goto(srv.base + `/leads/${r.body.id}`);
      await section().getByRole('heading', { name: 'Conversations' }).waitFor();
      const m = await srv.api('POST', `/leads/${r.body.id}/messages`, { channel: 'sms', body: 'Your quote is ready' });
      assert.equal(m.status, 202, JSON.stringify(m.body));
      const msg = section().locator(`.msg[data-message-id="${m.body.id}"]`);
      await msg.and(page.locator('[data-status="sent"]')).waitFor();
      // Right after one of the card's 5-second reads: from here on, a read of the thread's messages
      // would be the poll or a reload; the state must come from the stream's event alone.
      await page.waitForResponse((res) => res.url().endsWith(`/api/v1/threads/${m.body.thread_id}/messages`), { timeout: 8000 });
      const reads = [];
      const onReq = (req) => { if (req.url().includes(`/api/v1/threads/${m.body.thread_id}/messages`)) reads.push(req.url()); };
      page.on('request', onReq);
      const gw = sms.messages.find((x) => x.body === 'Your quote is ready');
      assert.equal(await sms.sendStatus(gw.sid, 'delivered'), 200);
      await msg.and(page.locator('[data-status="delivered"]')).waitFor({ timeout: 3000 });
      assert.match(await msg.locator('.msg-state').innerText(), /Delivered/);
      page.off('request', onReq);
      assert.deepEqual(reads, [], 'the state came from the stream, not from reading the messages');
      assert.deepEqual(problems, [], 'no page errors or CSP violations');
    } finally {
      await sms.stop();
    }
  });
});
