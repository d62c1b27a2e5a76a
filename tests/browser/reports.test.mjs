// reports.test.mjs — the Reports page against the real server with demo data (as the demo
// manager): the outcome chart and its table, keyboard focus on a bar, drill-down from a bar into
// the leads list behind it (the same count), the lost-reasons chart and a drill-down from its
// table, a CSV download, filters kept in the address; and axe finds no serious violation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, launch, skipReason, signIn, MOCK, openPage, stopAll, AXE } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (report counters)' : null);

describe('web UI: reports', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page, problems;
  before(async () => {
    srv = await startServer({ demo: true, demoRole: 'manager' });
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1280, height: 900 }, acceptDownloads: true }));
  });
  after(() => stopAll(browser, srv));

  const from = new Date(Date.now() - 365 * 86400000).toISOString().slice(0, 10);
  const to = new Date().toISOString().slice(0, 10);

  it('shows the outcome chart and table, and a bar drills down to its leads', async () => {
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    await page.getByLabel('From').fill(from);
    await page.getByLabel('Group by').selectOption('source');
    const bars = page.locator('section[aria-labelledby=outcomes-h] .chart-bar');
    await bars.first().waitFor();
    const api = await srv.api('GET', `/reports/outcomes?group_by=source&from=${from}&to=${to}`);
    assert.equal(api.status, 200);
    assert.ok(api.body.items.length > 0, 'the demo data has leads in the period');
    assert.equal(await bars.count(), api.body.items.length, 'one bar per row');
    const rows = page.locator('section[aria-labelledby=outcomes-h] table.report-table tbody tr');
    assert.equal(await rows.count(), api.body.items.length, 'the table beside it');
    assert.match(page.url(), /group_by=source/);
    // keyboard: the first bar takes focus and reads its figures
    await bars.first().focus();
    const name = await bars.first().getAttribute('aria-label');
    assert.ok(name.startsWith(api.body.items[0].label + ':'), name);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/leads\?/);
    const first = api.body.items[0];
    const list = await srv.api('GET', '/leads?' + new URLSearchParams({ ...first.leads, total: '1', limit: '1' }));
    assert.equal(list.body.total, first.total, 'the leads behind the bar are as many as the bar counts');
    await page.locator('table.leads-table tbody tr').first().waitFor();
    const url = new URL(page.url());
    for (const [k, v] of Object.entries(first.leads)) assert.equal(url.searchParams.get(k), v, `drill-down keeps ${k}`);
    await page.goBack();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
  });

  it('lost reasons: chart, table, drill-down from a reason', async () => {
    await page.goto(`${srv.base}/reports?from=${from}&to=${to}&group_by=owner&date=closed`);
    const lost = page.locator('section[aria-labelledby=lost-h]');
    await lost.getByRole('heading', { name: 'Why leads were lost' }).waitFor();
    const api = await srv.api('GET', `/reports/lost-reasons?from=${from}&to=${to}`);
    if (!api.body.items.length) return;  // demo data without lost leads in range: nothing to drill into
    await lost.locator('.chart-bar').first().waitFor();
    const it0 = api.body.items[0];
    await lost.getByRole('link', { name: it0.name, exact: true }).click();
    await page.waitForURL(/lost_reason=/);
    await page.locator('table.leads-table tbody tr').first().waitFor();
    assert.equal(await page.locator('table.leads-table tbody tr').count(), Math.min(it0.count, 50));
    await page.goBack();
  });

  it('downloads the report as CSV', async () => {
    await page.goto(`${srv.base}/reports?from=${from}&to=${to}&group_by=source&compare=previous`);
    const link = page.locator('section[aria-labelledby=outcomes-h]').getByRole('link', { name: 'Download CSV' });
    await link.waitFor();
    const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = await dl.path();
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text.split('\r\n')[0], /^key,label,open,won,lost,neutral,total,win_rate,value_won_cents,previous_open/);
    assert.match(text, /\r\n,Total,/);
    assert.deepEqual(problems, []);
  });

  it('has no serious accessibility violation (axe)', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const p2 = await ctx.newPage();
    await signIn(p2, srv);
    await p2.goto(`${srv.base}/reports?from=${from}&to=${to}&group_by=source&compare=previous`);
    await p2.locator('.chart-bar').first().waitFor();
    await p2.addScriptTag({ path: AXE });
    const bad = await p2.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
    });
    assert.deepEqual(bad, []);
    await ctx.close();
  });
});
