// settings-values.test.mjs — what the UI words with the server's values follows the server:
// the age rule's labels (dashboard cards and hint, the leads' age badges, the leads-list filter)
// show the SLA days the settings hold, also after an admin changes them on the settings screen,
// and the new-task types are the server's (/meta task_types).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, skipReason, openPage, stopAll } from './helpers.mjs';

const skip = skipReason();
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const DAY = 86400000;

describe('web UI: values from the server', { skip: skip || false, timeout: 120000 }, () => {
  let srv, browser, page, problems, young;

  before(async () => {
    srv = await startServer();
    // open leads 9 and 40 days old, and one a day old (an admin may give created_at)
    for (const [full_name, days] of [['Nine Days', 9], ['Forty Days', 40], ['One Day', 1]]) {
      const r = await srv.api('POST', '/leads', { full_name, owner_id: srv.user.id, created_at: iso(Date.now() - days * DAY) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      if (days === 1) young = r.body;
    }
    const s = await srv.api('PATCH', '/settings', { sla_warning_days: 7, sla_breach_days: 20 });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1280, height: 900 } }));
  });

  after(() => stopAll(browser, srv));

  const badge = async (name) => (await page.locator('tr', { hasText: name }).locator('.badge[class*=sla-]').textContent()).replace(/\s+/g, ' ').trim();
  const stat = (label) => page.locator('.stat', { has: page.locator('.stat-label', { hasText: new RegExp(`^${label}$`) }) });

  // the dashboard's own figures, as the cards should show them
  const figures = async () => (await srv.api('GET', '/dashboard')).body;
  const exactly = (n) => new RegExp(`^${n}$`);

  it('the dashboard words the age rule with the configured days', async () => {
    const d = await figures();
    assert.ok(d.sla_warning >= 1 && d.sla_breached >= 1, JSON.stringify(d));
    await stat('Over 7 days').locator('.stat-value', { hasText: exactly(d.sla_warning) }).waitFor();
    await stat('Over 20 days').locator('.stat-value', { hasText: exactly(d.sla_breached) }).waitFor();
    const text = await page.locator('main').innerText();
    assert.doesNotMatch(text, /Over 5 days|Over 30 days|after 5 days|after 30/, 'no seeded days left');
    assert.match(text, /amber after 7 days, red after 20/);
    const nine = page.locator('tr', { hasText: 'Nine Days' });
    assert.match(await badge('Nine Days'), /9 d · Over 7 days/);
    assert.match(await nine.locator('.badge[class*=sla-]').getAttribute('title'), /warn after 7 days, breach after 20/);
    assert.match(await badge('Forty Days'), /Over 20 days/);
  });

  it('the leads-list age filter offers the configured days and finds by them', async () => {
    await page.goto(srv.base + '/leads?sla=warning');
    await page.locator('tr', { hasText: 'Nine Days' }).waitFor();
    await page.getByRole('button', { name: 'More filters' }).click();
    await page.getByLabel('Age rule').waitFor();
    const options = await page.getByLabel('Age rule').locator('option').evaluateAll((os) => os.map((o) => o.textContent));
    assert.deepEqual(options.slice(1), ['On time (≤ 7 days)', 'Warning (over 7 days)', 'Breached (over 20 days)']);
    const badges = await page.locator('table.leads-table tbody .badge[class*=sla-]').evaluateAll((bs) => bs.map((b) => b.className));
    assert.ok(badges.length >= 1 && badges.every((c) => /sla-warning/.test(c)), JSON.stringify(badges));
    assert.equal(await page.locator('tr', { hasText: 'Forty Days' }).count(), 0, 'a breached lead is not a warning');
  });

  it('an admin changes the days on the settings screen and the labels follow', async () => {
    await page.goto(srv.base + '/settings/general');
    const form = page.getByRole('form', { name: 'General settings' });
    assert.equal(await form.getByLabel('Warn after (days open)').inputValue(), '7');
    assert.equal(await form.getByLabel('Breach after (days open)').inputValue(), '20');
    await form.getByLabel('Warn after (days open)').fill('10');
    await form.getByLabel('Breach after (days open)').fill('45');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await form.getByText('Saved.').waitFor();
    const s = (await srv.api('GET', '/settings')).body;
    assert.equal(s.sla_warning_days, 10);
    assert.equal(s.sla_breach_days, 45);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    // 9 days is now on time, 40 days only a warning
    const d = await figures();
    await stat('Over 10 days').locator('.stat-value', { hasText: exactly(d.sla_warning) }).waitFor();
    await stat('Over 45 days').locator('.stat-value', { hasText: exactly(d.sla_breached) }).waitFor();
    assert.match(await badge('Nine Days'), /On time/);
    assert.match(await page.locator('main').innerText(), /amber after 10 days, red after 45/);
    assert.match(await badge('Forty Days'), /Over 10 days/);
  });

  it('a breach day not above the warning day is refused next to its field', async () => {
    await page.goto(srv.base + '/settings/general');
    const form = page.getByRole('form', { name: 'General settings' });
    await form.getByLabel('Breach after (days open)').fill('10');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await form.locator('.field.has-error', { hasText: 'Breach after' }).getByRole('alert').waitFor();
    assert.equal((await srv.api('GET', '/settings')).body.sla_breach_days, 45, 'nothing changed');
  });

  it('the task types offered are the server\'s', async () => {
    const meta = (await srv.api('GET', '/meta')).body;
    await page.goto(srv.base + `/leads/${young.id}`);
    await page.getByLabel('Type', { exact: true }).waitFor();
    const types = await page.getByLabel('Type', { exact: true }).locator('option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(types, meta.task_types);
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });
});
