// approvals.test.mjs — the approval round trip in the browser, against the real server: an agent
// whose role asks for approval to close as lost requests it from the close dialog; the lead page
// then says a request waits (and the dialog's preview says no second one can be made); the
// manager sees it on the dashboard and the Approvals page named in words (lead, requester,
// outcome, reason, notes, follow-up, the overdue task), declines it from the lead page's banner
// in a dialog with a note (never the browser's prompt()); the decision and its note reach the
// agent in the notification, on the timeline and in "My requests". axe checks the Approvals page
// and the banner; screenshots go to docs/screenshots.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, apiClient, launch, skipReason, shot, MOCK, openPage, stopAll, audit } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (approvals)' : null);
const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
const NOTE = 'call them again next week';

describe('web UI: approvals a person can act on', { skip: skip || false, timeout: 240000 }, () => {
  let srv, browser, agent, manager, lead, reason;
  const PW = 'long-enough-secret';
  before(async () => {
    srv = await startServer();
    const mk = async (email, name, role, manager_id) => (await srv.api('POST', '/users', { email, name, role, password: PW, manager_id })).body;
    const morgan = await mk('morgan@example.com', 'Morgan Manager', 'manager');
    const sam = await mk('sam@example.com', 'Sam Agent', 'agent', morgan.id);
    const roles = (await srv.api('GET', '/roles')).body.items;
    const r = await srv.api('PATCH', `/roles/${roles.find((x) => x.name === 'agent').id}`, { policy: { close_lost: 'request' } });
    assert.equal(r.status, 200);
    const samApi = await apiClient(srv.base, 'sam@example.com', PW);
    lead = (await samApi.api('POST', '/leads', { full_name: 'Jane Doe', company: 'Doe Ltd' })).body;
    await samApi.api('POST', `/leads/${lead.id}/tasks`, { title: 'Send the quote', due_at: iso(-86400000) });
    reason = (await samApi.api('GET', '/lost-reasons')).body.items.find((x) => x.name === 'Price');
    assert.ok(sam.id && morgan.id && reason);
    browser = await launch();
    agent = await openPage(browser, { base: srv.base, email: 'sam@example.com', password: PW }, { noDialogs: true });
    manager = await openPage(browser, { base: srv.base, email: 'morgan@example.com', password: PW }, { noDialogs: true });
  });
  after(() => stopAll(browser, srv));

  it('the agent asks for approval from the close dialog; the lead page says it waits', async () => {
    const { page } = agent;
    await page.goto(`${srv.base}/leads/${lead.id}`);
    await page.getByRole('button', { name: 'Close lead…' }).first().click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Outcome').selectOption('lost');
    await dlg.getByLabel('Lost reason (required)').selectOption(String(reason.id));
    await dlg.getByLabel('Notes', { exact: true }).fill('Went with a cheaper offer');
    await dlg.getByRole('button', { name: 'Request approval' }).click();
    const banner = page.getByRole('region', { name: 'Waiting for approval' });
    await banner.waitFor();
    const text = await banner.textContent();
    assert.match(text, /Sam Agent asks to close as Lost/);
    assert.match(text, /Price/);
    assert.match(text, /no new request can be made/);
    assert.equal(await banner.getByRole('button', { name: /Approve/ }).count(), 0, 'nobody decides their own request');
    // asking again: the dialog's preview says one waits, and there is no way to confirm
    await page.getByRole('button', { name: 'Close lead…' }).first().click();
    await dlg.getByLabel('Outcome').selectOption('lost');
    await dlg.getByLabel('Lost reason (required)').selectOption(String(reason.id));
    await dlg.getByText(/already waiting for approval/).waitFor();
    assert.equal(await dlg.getByRole('button', { name: /Confirm close|Request approval/ }).isDisabled(), true);
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await audit(page, 'lead page with a waiting request');
    await shot(page, 'approval-banner-agent');
  });

  it('the manager sees it named in words on the dashboard and the Approvals page', async () => {
    const { page } = manager;
    await page.reload();
    const card = page.getByRole('region', { name: 'Waiting for your approval' }).or(page.locator('section[aria-labelledby="approvals-h"]'));
    await card.first().waitFor();
    const t = await card.first().textContent();
    assert.match(t, /Jane Doe/);
    assert.doesNotMatch(t, /#\d+/, 'the lead is named, not numbered');
    assert.match(t, /Sam Agent asks to close as Lost/);
    assert.match(t, /Price/);
    assert.match(t, /Went with a cheaper offer/);
    assert.match(t, /1 open task, 1 overdue/);
    assert.match(t, /Send the quote/);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
    await page.getByRole('heading', { name: /Waiting for your decision/ }).waitFor();
    await page.locator('.approval').first().waitFor();
    await audit(page, 'approvals page');
    await shot(page, 'approvals');
  });

  it('the manager declines from the lead page in a dialog with a note; the timeline says so', async () => {
    const { page, problems } = manager;
    await page.goto(`${srv.base}/leads/${lead.id}`);
    const banner = page.getByRole('region', { name: 'Waiting for approval' });
    await banner.getByRole('button', { name: /Decline/ }).click();
    const dlg = page.getByRole('dialog', { name: 'Decline the request' });
    await dlg.waitFor();
    await audit(page, 'decline dialog');
    await shot(page, 'approval-decline-dialog');
    await dlg.getByLabel('Note for the requester (optional)').fill(NOTE);
    await dlg.getByRole('button', { name: 'Decline' }).click();
    await page.getByText('Declined: the requester was told, with your note.').waitFor();
    await banner.waitFor({ state: 'detached' });
    const tl = page.locator('ol.timeline');
    await tl.getByText(`Declined by Morgan Manager: “${NOTE}”`).waitFor();
    assert.match(await tl.textContent(), /declined the request to close as Lost/);
    assert.deepEqual(problems, []);
    const ap = (await srv.api('GET', `/approvals?status=all&lead=${lead.id}`)).body.items[0];
    assert.equal(ap.status, 'declined');
    assert.equal(ap.note, NOTE);
  });

  it('the agent reads the decision and its note: notification, timeline, My requests; and may ask again', async () => {
    const { page, problems } = agent;
    await page.goto(`${srv.base}/approvals`);
    const mine = page.locator('section[aria-labelledby="mine-h"]');
    await mine.getByText(`Declined by Morgan Manager: “${NOTE}”`).waitFor();
    assert.equal(await page.getByRole('heading', { name: /Waiting for your decision/ }).count(), 0, 'an agent decides nothing');
    await audit(page, 'my requests');
    await page.getByRole('button', { name: /^Notifications/ }).click();
    await page.getByText(`Morgan Manager declined your request to close Jane Doe as Lost: “${NOTE}”`).waitFor();
    await page.keyboard.press('Escape');
    await page.goto(`${srv.base}/leads/${lead.id}`);
    await page.locator('ol.timeline').getByText(`Declined by Morgan Manager: “${NOTE}”`).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Waiting for approval' }).count(), 0);
    // once decided, a new request can be made
    await page.getByRole('button', { name: 'Close lead…' }).first().click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Outcome').selectOption('lost');
    await dlg.getByLabel('Lost reason (required)').selectOption(String(reason.id));
    await dlg.getByRole('button', { name: 'Request approval' }).click();
    await page.getByRole('region', { name: 'Waiting for approval' }).waitFor();
    assert.deepEqual(problems, []);
  });

  it('the manager approves the new request from the Approvals page: the lead closes', async () => {
    const { page, problems } = manager;
    await page.goto(`${srv.base}/approvals`);
    const card = page.locator('section[aria-labelledby="inbox-h"] .approval').first();
    await card.getByRole('button', { name: /Approve/ }).click();
    await page.getByText('Approved: the request was carried out.').waitFor();
    const l = (await srv.api('GET', `/leads/${lead.id}`)).body;
    assert.equal(l.status, 'closed');
    assert.equal(l.outcome, 'lost');
    assert.deepEqual(problems, []);
  });
});
