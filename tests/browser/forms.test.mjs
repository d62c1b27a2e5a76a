// forms.test.mjs — web forms as an admin and a visitor meet them: the admin lists the company's
// site in Settings › Messaging (web chat and forms: chat_origins, chat_idle_minutes), makes a form
// in Settings › Forms (fields, labels, required, thank-you text) with its preview, opens its
// snippet; a page on another origin (served by this test on loopback) embeds that snippet as it
// is; a visitor fills it in and sends it (a plain form post, no JavaScript on the page), sees the
// thank-you page, and the lead is there with the form's source and owner, on its lead page.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launch, watchPage, signIn, skipReason, MOCK } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (public forms)' : null);
const T = 15000;

describe('web forms: Settings › Forms and a company page', { skip: skip || false, timeout: 120000 }, () => {
  let srv, site, siteBase, browser, page, problems;
  let snippet = '';

  before(async () => {
    srv = await startServer();
    site = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><title>Fibre &amp; Co</title></head><body><h1>Get a quote</h1>\n${snippet}\n</body></html>`);
    });
    await new Promise((r) => site.listen(0, '127.0.0.1', r));
    siteBase = `http://127.0.0.1:${site.address().port}`;
    browser = await launch();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(T);
    problems = watchPage(page);
    await signIn(page, srv);
  });

  after(async () => {
    if (browser) await browser.close();
    if (site) await new Promise((r) => site.close(r));
    if (srv) await srv.stop();
  });

  it('the web chat and forms settings are edited in Settings › Messaging', async () => {
    await page.goto(srv.base + '/settings/messaging');
    await page.getByLabel('Your website addresses (one per line)').fill(`${siteBase}/\nhttps://www.example.test`);
    await page.getByLabel('Close an idle chat after (minutes)').fill('45');
    await page.getByRole('button', { name: 'Save messaging settings' }).click();
    await page.locator('.saved', { hasText: 'Saved.' }).waitFor();
    const s = (await srv.api('GET', '/settings')).body;
    assert.deepEqual(s.chat_origins, [siteBase, 'https://www.example.test'], 'one origin per line, trailing slash dropped');
    assert.equal(s.chat_idle_minutes, 45);
    await page.reload();
    assert.equal(await page.getByLabel('Your website addresses (one per line)').inputValue(), `${siteBase}\nhttps://www.example.test`);
  });

  it('an admin makes a form in Settings › Forms, previews it and copies its snippet', async () => {
    await page.goto(srv.base + '/settings/forms');
    await page.getByRole('heading', { name: 'Forms' }).waitFor();
    const editor = page.getByRole('form', { name: 'New form' });
    await editor.getByLabel('Name', { exact: true }).fill('Quote <request>');
    await editor.getByLabel('Key (optional)').fill('quote-request');
    await editor.getByLabel('Source of its leads').selectOption({ label: 'Referral' });
    await editor.getByLabel('Owner of its leads').selectOption({ label: 'Ada Admin' });
    await editor.getByLabel('Ask for Company', { exact: true }).check();
    await editor.getByLabel('Label of Your request').fill('What do you need?');
    await editor.getByLabel('Your request is required').check();
    await editor.getByLabel('Thank-you text').fill('Thanks! We will send your quote <soon>.');
    // the preview follows the draft
    const preview = editor.getByLabel('Preview of the form');
    await preview.getByText('What do you need? *').waitFor();
    await preview.getByText('Company', { exact: true }).waitFor();
    await editor.getByRole('button', { name: 'Create form' }).click();

    const row = page.locator('li.form-row[data-key="quote-request"]');
    await row.waitFor();
    assert.match(await row.innerText(), /Quote <request>/);
    await row.getByRole('button', { name: 'Snippet' }).click();
    const box = row.getByLabel(/HTML to paste into your page/);
    await box.waitFor();
    snippet = await box.inputValue();
    assert.match(snippet, /<form class="leadpath-form" action="[^"]+\/public\/v1\/forms\/quote-request" method="post"/);
    assert.ok(snippet.includes('Quote &lt;request&gt;'), 'the name is escaped in the snippet');
    assert.ok(snippet.includes('name="company"'));
    const forms = (await srv.api('GET', '/forms')).body.items;
    assert.equal(forms.length, 1);
    assert.deepEqual(forms[0].fields.map((f) => [f.name, f.required]),
      [['full_name', true], ['email', false], ['phone', false], ['request', true], ['company', false]]);
  });

  it('a visitor sends the embedded form from the company page and the lead is there', async () => {
    const visitor = await (await browser.newContext()).newPage();
    visitor.setDefaultTimeout(T);
    await visitor.goto(siteBase + '/');
    await visitor.getByLabel('Full name *').fill('Vic Visitor');
    await visitor.getByLabel('Email', { exact: true }).fill('vic@example.com');
    await visitor.getByLabel('Company', { exact: true }).fill('Vic & Sons');
    await visitor.getByLabel('What do you need? *').fill('Fibre for 3 shops');
    const hp = await visitor.locator('input[name="website"]').boundingBox();
    assert.ok(!hp || hp.x + hp.width <= 0, `the honeypot is out of view (${JSON.stringify(hp)})`);
    assert.equal(await visitor.locator('input[name="website"]').getAttribute('tabindex'), '-1', 'and out of the tab order');
    await visitor.getByRole('button', { name: 'Send' }).click();
    await visitor.getByRole('heading', { name: 'Thank you' }).waitFor();
    assert.ok(visitor.url().startsWith(srv.base), 'the thank-you page is leadpath\'s');
    assert.match(await visitor.locator('main').innerText(), /Thanks! We will send your quote <soon>\./, 'shown as text');
    await visitor.close();

    const found = (await srv.api('GET', '/leads?owner=any&q=' + encodeURIComponent('vic@example.com'))).body.items;
    assert.equal(found.length, 1, 'the submission made a lead');
    const lead = found[0];
    assert.equal(lead.company, 'Vic & Sons');
    assert.equal(lead.request, 'Fibre for 3 shops');
    const sources = (await srv.api('GET', '/sources')).body.items;
    assert.equal(lead.source_id, sources.find((s) => s.name === 'Referral').id);
    assert.equal(lead.owner_id, srv.user.id);

    await page.goto(`${srv.base}/leads/${lead.id}`);
    await page.getByRole('heading', { name: 'Vic Visitor' }).waitFor();
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });
});
