// jobs.test.mjs — what the background jobs bring to the web UI, against the real server started
// with a one-second sweep: an agent's due tasks become notifications (the count in the header,
// the panel, "Mark read", "Mark all read"); an admin adds a webhook pointing at a small receiver
// started here (the secret is shown once and signs the deliveries), sees a delivered event in
// the Deliveries table, meets a version conflict, pauses, resumes and deletes it; an agent sees
// no Webhooks section.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startServer, apiClient, launch, skipReason, MOCK, openPage } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (sweep and webhook delivery)' : null);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isoAgo = (s) => new Date(Date.now() - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(200);
  }
}

describe('web UI: notifications and webhooks', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, agent, agentApi, lead, receiver, hookUrl;
  const received = [];
  const AGENT = { email: 'bo@example.com', name: 'Bo Agent', password: 'agent-password-123' };

  before(async () => {
    srv = await startServer({ serverArgs: ['--sweep-seconds', '1'] });
    const u = await srv.api('POST', '/users', { ...AGENT, role: 'agent' });
    assert.equal(u.status, 201, `create agent: ${JSON.stringify(u.body)}`);
    agent = u.body;
    agentApi = (await apiClient(srv.base, AGENT.email, AGENT.password)).api;
    const l = await srv.api('POST', '/leads', { full_name: 'Wanda Wilson', company: 'Wilson Bakery', owner_id: agent.id });
    assert.equal(l.status, 201, JSON.stringify(l.body));
    lead = l.body;
    for (const title of ['Call Wanda back', 'Send Wanda the quote']) {
      const t = await srv.api('POST', `/leads/${lead.id}/tasks`, { type: 'call', title, due_at: isoAgo(60), assignee_id: agent.id });
      assert.equal(t.status, 201, `create task: ${JSON.stringify(t.body)}`);
    }
    // the sweep (every second) turns both due tasks into notifications
    await until('two task_due notifications', async () => {
      const r = await agentApi('GET', '/notifications?unread=1');
      return r.status === 200 && r.body.items.filter((n) => n.kind === 'task_due').length === 2;
    });
    receiver = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (receiver) await new Promise((r) => receiver.close(r));
    if (srv) await srv.stop();
  });

  it('an agent sees due tasks as notifications and marks them read', async () => {
    const { page, problems } = await openPage(browser, { base: srv.base, ...AGENT }, { viewport: { width: 1280, height: 900 } });
    const bell = page.getByRole('button', { name: /^Notifications,/ });
    await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor();
    assert.equal((await bell.innerText()).trim(), '2', 'the count is visible text');
    // the dashboard's summary shows the same count
    await page.locator('.stat', { hasText: 'Unread notifications' }).locator('.stat-value', { hasText: '2' }).waitFor();

    await bell.click();
    assert.equal(await bell.getAttribute('aria-expanded'), 'true');
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.waitFor();
    const item = panel.locator('li.note', { hasText: 'Task due: Call Wanda back' });
    await item.waitFor();
    await panel.locator('li.note', { hasText: 'Task due: Send Wanda the quote' }).waitFor();
    assert.equal(await item.getByRole('link').getAttribute('href'), `/leads/${lead.id}`, 'the lead is linked');
    await item.getByRole('link', { name: 'Wanda Wilson' }).waitFor();   // the name is looked up
    assert.ok(await item.locator('time').getAttribute('datetime'), 'with its time');

    await item.getByRole('button', { name: 'Mark read: Task due: Call Wanda back' }).click();
    await page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor();
    assert.equal((await bell.innerText()).trim(), '1');
    await page.locator('.stat', { hasText: 'Unread notifications' }).locator('.stat-value', { hasText: '1' }).waitFor();
    let r = await agentApi('GET', '/notifications?unread=1');
    assert.deepEqual(r.body.items.map((n) => n.data.title), ['Send Wanda the quote']);

    // "All" lists read ones too
    await panel.getByRole('button', { name: 'All', exact: true }).click();
    await panel.locator('li.note-read', { hasText: 'Call Wanda back' }).getByText('Read', { exact: true }).waitFor();

    await panel.getByRole('button', { name: 'Mark all read' }).click();
    await page.getByRole('button', { name: 'Notifications, none unread' }).waitFor();
    r = await agentApi('GET', '/notifications?unread=1');
    assert.equal(r.body.items.length, 0);
    assert.equal(await panel.getByRole('button', { name: 'Mark all read' }).isDisabled(), true);

    // Escape closes the panel and gives the focus back to the bell
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Notifications, none unread');

    // following a lead link closes the panel
    await bell.click();
    await panel.getByRole('button', { name: 'All', exact: true }).click();
    await panel.getByRole('link').first().click();
    await page.getByRole('heading', { level: 1, name: 'Wanda Wilson' }).waitFor();
    await panel.waitFor({ state: 'detached' });

    // an agent has no webhooks section, and the API refuses
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Stages', level: 2 }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Settings lists' }).getByRole('link', { name: 'Webhooks' }).count(), 0);
    await page.goto(srv.base + '/settings/webhooks');
    await page.getByText('Only admins may manage webhooks.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add webhook' }).count(), 0);
    assert.equal((await agentApi('GET', '/webhooks')).status, 403);
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
    await page.context().close();
  });

  it('the leads list exports what it shows as CSV, with its filters', async () => {
    const { page, problems } = await openPage(browser, { base: srv.base, ...AGENT }, { viewport: { width: 1280, height: 900 } });
    await page.goto(srv.base + '/leads');
    const link = page.getByRole('link', { name: 'Export CSV' });
    await link.waitFor();
    const href = await link.getAttribute('href');
    assert.match(href, /^\/api\/v1\/export\/leads\?/);
    assert.match(href, /status=open/);
    assert.match(href, /owner=me/);
    // the browser's session cookie fetches it: the agent's own lead, as CSV
    const r = await page.request.get(srv.base + href);
    assert.equal(r.status(), 200);
    assert.match(r.headers()['content-type'], /^text\/csv/);
    const text = await r.text();
    assert.match(text.split(/\r?\n/)[0], /^id,full_name,/);
    assert.ok(text.includes('Wanda Wilson'));
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('an admin checks a CSV file, then imports it, and sees the failed row by line', async () => {
    const { page, problems } = await openPage(browser, srv, { viewport: { width: 1280, height: 900 } });
    await page.goto(srv.base + '/leads');
    await page.getByRole('button', { name: 'Import CSV' }).click();
    const dlg = page.getByRole('dialog', { name: 'Import leads from CSV' });
    const file = { name: 'leads.csv', mimeType: 'text/csv',
      buffer: Buffer.from('full_name,emails\r\nPetra Import,petra@import.test\r\n,nobody@import.test\r\nPaul Import,paul@import.test\r\n') };
    await dlg.getByLabel('CSV file').setInputFiles(file);
    await dlg.getByText('3 rows to import').waitFor();
    await dlg.getByRole('button', { name: 'Check all rows' }).click();
    await dlg.getByText('2 rows would be created').waitFor();
    await dlg.getByText(/Line 3 \(row 2\): full_name/).waitFor();
    assert.equal((await srv.api('GET', '/leads?q=Import&status=all&owner=any')).body.items.length, 0, 'a check creates nothing');
    await dlg.getByRole('button', { name: 'Import 3 rows' }).click();
    await dlg.getByText('2 leads created').waitFor();
    const made = (await srv.api('GET', '/leads?q=Import&status=all&owner=any')).body.items.map((l) => l.full_name).sort();
    assert.deepEqual(made, ['Paul Import', 'Petra Import']);
    await dlg.getByRole('button', { name: 'Close', exact: true }).click();
    await dlg.waitFor({ state: 'hidden' });
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('an admin adds a webhook, sees its secret once and a delivered event, pauses and deletes it', async () => {
    const { page, problems } = await openPage(browser, srv, { viewport: { width: 1280, height: 900 } });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('navigation', { name: 'Settings lists' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 2 }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();

    const add = page.getByRole('form', { name: 'Add a webhook' });
    await add.getByLabel('URL').fill('ftp://example.com/nope');
    await add.getByLabel('Only these events').check();
    await add.getByLabel('Event kinds (comma-separated)').fill('created, Closed!');
    await add.getByRole('button', { name: 'Add webhook' }).click();
    // the server's field errors show next to their fields
    await add.locator('.field-error', { hasText: /http/ }).waitFor();
    await add.locator('.field-error', { hasText: /event kinds/ }).waitFor();
    assert.equal(await add.getByLabel('URL').getAttribute('aria-invalid'), 'true');

    await add.getByLabel('URL').fill(hookUrl);
    await add.getByLabel('Event kinds (comma-separated)').fill('created, closed');
    await add.getByRole('button', { name: 'Add webhook' }).click();
    const once = page.getByRole('region', { name: /^Signing secret for/ });
    await once.waitFor();
    assert.match(await once.innerText(), /Copy it now; it is not shown again\./);
    const secret = (await once.locator('code.secret').innerText()).trim();
    assert.match(secret, /^[0-9a-f]{64}$/, 'a made secret');
    const row = page.locator('li.hook', { hasText: hookUrl });
    await row.waitFor();
    assert.match(await row.innerText(), /created, closed/);
    await row.locator('.badge', { hasText: 'Active' }).waitFor();
    const list = await srv.api('GET', '/webhooks');
    const hook = list.body.items[0];
    assert.deepEqual(hook.events, ['created', 'closed']);
    assert.equal(hook.secret, undefined, 'the list never shows the secret');

    await once.getByRole('button', { name: 'I have copied it' }).click();
    await once.waitFor({ state: 'detached' });
    await page.reload();
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');

    // an event: the receiver gets it, signed with the secret
    const l = await srv.api('POST', '/leads', { full_name: 'Hook Harper', owner_id: srv.user.id });
    assert.equal(l.status, 201);
    const got = await until('a delivery at the receiver', () => received.find((x) => x.headers['x-leadpath-event']));
    assert.equal(got.url, '/hook');
    assert.equal(got.headers['x-leadpath-signature'], crypto.createHmac('sha256', secret).update(got.body).digest('hex'));
    assert.equal(JSON.parse(got.body).kind, 'created');

    // the Deliveries table shows it done with HTTP 200 (refreshed until the job has finished)
    const toggle = row.getByRole('button', { name: 'Deliveries' });
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const table = row.locator('table.deliveries-table');
    const done = table.locator('tbody tr[data-status=done]');
    for (let i = 0; i < 50 && !(await done.count()); i++) {
      await sleep(300);
      await row.getByRole('button', { name: 'Refresh' }).click();
    }
    await done.first().waitFor();
    const cells = await done.first().locator('td').allInnerTexts();
    assert.equal(cells[2], 'done');
    assert.equal(cells[4], '200');
    assert.equal(await table.getByRole('columnheader').count(), 8);

    // a change made elsewhere meanwhile: the edit says so and keeps what was typed
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit webhook ' + hookUrl });
    await edit.getByLabel('Event kinds (comma-separated)').fill('created, closed, reopened');
    const cur = await srv.api('GET', `/webhooks/${hook.id}`);
    const other = await srv.api('PATCH', `/webhooks/${hook.id}`, { events: ['*'] }, { 'If-Match': `"${cur.body.version}"` });
    assert.equal(other.status, 200, JSON.stringify(other.body));
    await edit.getByRole('button', { name: 'Save webhook' }).click();
    await edit.getByRole('alert').filter({ hasText: 'This webhook was changed by someone else meanwhile' }).waitFor();
    assert.equal(await edit.getByLabel('Event kinds (comma-separated)').inputValue(), 'created, closed, reopened');
    await edit.getByRole('button', { name: 'Reload' }).click();
    await row.locator('.hook-head .sub', { hasText: 'All events' }).waitFor();
    await edit.getByRole('button', { name: 'Save webhook' }).click();
    await edit.waitFor({ state: 'detached' });
    await row.locator('.hook-head .sub', { hasText: 'created, closed, reopened' }).waitFor();
    assert.deepEqual((await srv.api('GET', `/webhooks/${hook.id}`)).body.events, ['created', 'closed', 'reopened']);

    // pause and resume
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.locator('.badge', { hasText: 'Paused' }).waitFor();
    assert.match(await row.innerText(), /paused/i);
    assert.equal((await srv.api('GET', `/webhooks/${hook.id}`)).body.active, false);
    await row.getByRole('button', { name: 'Resume' }).click();
    await row.locator('.badge', { hasText: 'Active' }).waitFor();
    assert.equal((await srv.api('GET', `/webhooks/${hook.id}`)).body.active, true);

    // delete, after asking
    await row.getByRole('button', { name: 'Delete…' }).click();
    const dlg = page.getByRole('dialog', { name: 'Delete webhook' });
    await dlg.getByRole('button', { name: 'Keep it' }).click();
    await dlg.waitFor({ state: 'hidden' });
    assert.equal((await srv.api('GET', '/webhooks')).body.items.length, 1);
    await row.getByRole('button', { name: 'Delete…' }).click();
    await dlg.getByRole('button', { name: 'Delete webhook' }).click();
    await page.getByText('No webhooks yet.').waitFor();
    assert.equal((await srv.api('GET', '/webhooks')).body.items.length, 0);
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
    await page.context().close();
  });
});
