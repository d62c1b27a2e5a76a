// chat-widget.test.mjs — the web chat as a visitor meets it: a page on another origin (served by
// this test on loopback) embeds the widget with one script tag; the visitor opens the chat and
// sends a message, which becomes a lead with an open chat thread; an agent answers through the
// API and the answer appears in the widget (polled every 3 s), as text (markup in it is shown,
// not run); closing the page closes the thread (sendBeacon on pagehide).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launch, watchPage, skipReason, MOCK } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (the public chat)' : null);
const T = 15000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('web chat widget on a company page', { skip: skip || false, timeout: 120000 }, () => {
  let srv, site, siteBase, browser, page, problems;

  before(async () => {
    srv = await startServer();
    site = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><title>Fibre &amp; Co</title></head><body><h1>Fibre &amp; Co</h1>
<script src="${srv.base}/public/v1/widget.js" async></script></body></html>`);
    });
    await new Promise((r) => site.listen(0, '127.0.0.1', r));
    siteBase = `http://127.0.0.1:${site.address().port}`;
    const s = await srv.api('PATCH', '/settings', { chat_origins: [siteBase] });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    browser = await launch();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(T);
    problems = watchPage(page);
  });

  after(async () => {
    if (browser) await browser.close();
    if (site) await new Promise((r) => site.close(r));
    if (srv) await srv.stop();
  });

  it('a visitor chats, an agent answers, closing the page closes the thread', async () => {
    await page.goto(siteBase + '/');
    await page.getByRole('button', { name: 'Chat with us' }).click();
    const dialog = page.getByRole('dialog', { name: 'Chat' });
    await dialog.getByLabel('Your name').fill('Wanda Widget');
    await dialog.getByLabel('E-mail').fill('wanda@example.com');
    await dialog.getByLabel('Your message').fill('Is fibre <b>available</b> on Elm Street?');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await dialog.locator('li[data-from="visitor"]', { hasText: 'Is fibre <b>available</b> on Elm Street?' }).waitFor();

    // the lead and its open chat thread, as an agent finds them
    let lead = null;
    for (let i = 0; i < 50 && !lead; i++) {
      const r = await srv.api('GET', '/leads?owner=any&q=' + encodeURIComponent('wanda@example.com'));
      lead = r.body.items?.[0] || null;
      if (!lead) await sleep(100);
    }
    assert.ok(lead, 'the chat made a lead');
    assert.equal(lead.full_name, 'Wanda Widget');
    const threads = (await srv.api('GET', `/leads/${lead.id}/threads`)).body.items;
    assert.equal(threads.length, 1);
    assert.equal(threads[0].channel, 'chat');
    assert.equal(threads[0].status, 'open');

    // the agent answers; the widget shows it within its 3 s poll, as text
    const ans = await srv.api('POST', `/leads/${lead.id}/messages`, { thread_id: threads[0].id, body: 'Yes! <img src=x onerror=alert(1)> from Monday.' });
    assert.equal(ans.status, 202, JSON.stringify(ans.body));
    const reply = dialog.locator('li[data-from="agent"]');
    await reply.waitFor({ timeout: 10000 });
    assert.match(await reply.textContent(), /Yes! <img src=x onerror=alert\(1\)> from Monday\./);
    assert.equal(await dialog.locator('img').count(), 0, 'markup in a message is shown as text');
    assert.match(await reply.textContent(), /Ada Admin/, "the agent's name");

    // the visitor closes the page: the thread closes by itself
    await page.close({ runBeforeUnload: true });
    let status = 'open';
    for (let i = 0; i < 50 && status === 'open'; i++) {
      status = (await srv.api('GET', `/leads/${lead.id}/threads`)).body.items[0].status;
      if (status === 'open') await sleep(100);
    }
    assert.equal(status, 'closed', 'closing the page closed the chat');
    const tl = (await srv.api('GET', `/leads/${lead.id}/timeline`)).body.items;
    assert.equal(tl.find((e) => e.kind === 'thread_closed')?.data.by, 'lead');
    assert.deepEqual(problems, []);
  });
});
