// a11y.test.mjs — axe-core accessibility checks of the main screens (demo data): every control
// labelled, valid ARIA, sufficient colour contrast, no duplicate ids. Fails on any "serious" or
// "critical" violation. axe is injected as a script, so this context bypasses the CSP (the other
// browser tests run with the CSP and check it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, apiClient, launch, skipReason, MOCK, stopAll, AXE } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (demo data)' : null);

async function audit(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`${what}: minor: ${minor.map((v) => v.id).join(', ')}`);
  assert.deepEqual(bad, [], `${what}: ${JSON.stringify(bad, null, 1)}`);
}

describe('web UI: accessibility (axe-core)', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page;
  before(async () => {
    srv = await startServer({ demo: true, demoRole: 'manager' });
    browser = await launch();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })).newPage();
    page.setDefaultTimeout(15000);
  });
  after(() => stopAll(browser, srv));

  it('login', async () => {
    await page.goto(srv.base + '/');
    await page.getByLabel('Email').waitFor();
    await audit(page, 'login');
    await page.getByLabel('Email').fill(srv.email);
    await page.getByLabel('Password').fill(srv.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'My leads' }).waitFor();
  });

  it('dashboard', async () => {
    await page.locator('.dash-side .task-mini, .dash-side .empty').first().waitFor();
    await audit(page, 'dashboard');
  });

  it('leads list with every filter', async () => {
    await page.goto(srv.base + '/leads?owner=any');
    await page.locator('table.leads-table tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'More filters' }).click();
    await page.locator('table.leads-table tbody tr').first().locator('input[type=checkbox]').check();
    await audit(page, 'leads list');
  });

  it('lead page, editing and close dialog', async () => {
    await page.locator('table.leads-table tbody a.lead-link').first().click();
    await page.locator('.path-card').waitFor();
    await audit(page, 'lead');
    await page.getByRole('button', { name: /^E-mails:/ }).click();
    await audit(page, 'lead, editing e-mails');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('button', { name: 'Close lead…' }).first().click();
    await page.getByRole('dialog').getByLabel('Outcome').selectOption('lost');
    await page.locator('.preview-list').waitFor();
    await audit(page, 'close dialog');
    await page.keyboard.press('Escape');
  });

  it('settings', async () => {
    for (const list of ['stages', 'lost-reasons', 'general']) {
      await page.goto(srv.base + '/settings/' + list);
      await page.locator('.settings-body .card').first().waitFor();
      await audit(page, 'settings ' + list);
    }
  });

  it('notifications panel', async () => {
    await page.goto(srv.base + '/');
    await page.getByRole('heading', { name: 'My leads' }).waitFor();
    const bell = page.getByRole('button', { name: /^Notifications/ });
    await page.waitForFunction(() => /^Notifications, /.test(document.querySelector('.notes-btn')?.getAttribute('aria-label') || ''));
    await bell.click();
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.getByRole('button', { name: 'All', exact: true }).click();
    await panel.locator('.notes-list, .empty').first().waitFor();
    await audit(page, 'notifications panel');
    await page.keyboard.press('Escape');
  });

  it('settings webhooks (admin)', async () => {
    const admin = srv.logins.find((l) => l.role === 'admin');
    assert.ok(admin, 'a demo admin login');
    const { api } = await apiClient(srv.base, admin.email, admin.password);
    // a webhook nobody answers (a closed port), and an event for it: a failed attempt in its table
    const h = await api('POST', '/webhooks', { url: 'http://127.0.0.1:1/hook', events: ['created', 'closed'] });
    assert.equal(h.status, 201, JSON.stringify(h.body));
    assert.equal((await api('POST', '/leads', { full_name: 'Axe Audit' })).status, 201);
    const p2 = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })).newPage();
    p2.setDefaultTimeout(15000);
    await p2.goto(srv.base + '/settings/webhooks');
    await p2.getByLabel('Email').fill(admin.email);
    await p2.getByLabel('Password').fill(admin.password);
    await p2.getByRole('button', { name: 'Sign in' }).click();
    const row = p2.locator('li.hook').first();
    await row.waitFor();
    await row.getByRole('button', { name: 'Deliveries' }).click();
    await row.locator('.deliveries-table, .deliveries .empty').first().waitFor();
    await audit(p2, 'settings webhooks');
    // the secret shown once, an edit form and field errors
    const add = p2.getByRole('form', { name: 'Add a webhook' });
    await add.getByLabel('URL').fill('https://example.com/hooks/axe');
    await add.getByRole('button', { name: 'Add webhook' }).click();
    await p2.locator('.secret-once').waitFor();
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = p2.getByRole('form', { name: /^Edit webhook/ });
    await edit.getByLabel('URL').fill('not a url');
    await edit.getByRole('button', { name: 'Save webhook' }).click();
    await edit.locator('.field-error').first().waitFor();
    await audit(p2, 'settings webhooks, secret and editing');
    await p2.context().close();
  });

  it('conversations, templates and messaging (admin)', async () => {
    const admin = srv.logins.find((l) => l.role === 'admin');
    const { api } = await apiClient(srv.base, admin.email, admin.password);
    const lead = (await api('POST', '/leads', { full_name: 'Axe Talk', emails: ['axe.talk@example.com'] })).body;
    const sent = await api('POST', `/leads/${lead.id}/messages`, { channel: 'email', subject: 'Hello', body: 'A first message' });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const p3 = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })).newPage();
    p3.setDefaultTimeout(15000);
    await p3.goto(srv.base + `/leads/${lead.id}`);
    await p3.getByLabel('Email').fill(admin.email);
    await p3.getByLabel('Password').fill(admin.password);
    await p3.getByRole('button', { name: 'Sign in' }).click();
    await p3.locator('section.conversations .msg').first().waitFor();
    await audit(p3, 'lead conversations');
    await p3.locator('article.thread').first().getByRole('button', { name: 'Close conversation' }).click();
    await p3.getByRole('dialog', { name: 'Close conversation' }).waitFor();
    await audit(p3, 'close conversation dialog');
    await p3.keyboard.press('Escape');
    await p3.goto(srv.base + '/settings/templates');
    await p3.getByRole('form', { name: 'New template' }).waitFor();
    await audit(p3, 'settings templates');
    await p3.goto(srv.base + '/settings/messaging');
    await p3.getByRole('form', { name: 'Messaging settings' }).waitFor();
    await audit(p3, 'settings messaging');
    await p3.context().close();
  });
});
