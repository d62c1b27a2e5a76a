// daily.test.mjs — the daily tool's polish (issue 14), against the real server:
// - the leads list's Closed view: most recently closed first, with outcome, lost reason and the
//   closing date; a search with no match among open leads offers to search all leads;
// - finishing a call task asks what happened and offers, in the same step, still pending / won /
//   lost through the close dialog's rules and preview (a lost reason required, the plan shown);
// - the dashboard: a manager's Mine / Team switch, dates with the date beside the relative words,
//   "tomorrow" only for the next calendar day in the company's time zone, follow-up and overdue
//   lists that never repeat a task, a follow-up just created visible without "Show all";
// - words and looks: the chosen comment colour shows, a comment icon named by another client shows
//   as an icon, the task due field shows the whole time, the status path shows whole stage names
//   (also at 375 px, where the close dialog's Confirm stays reachable), dialogs keep focus inside,
//   focus moves to the page heading after navigation, "/" focuses search.
// axe checks the new states; screenshots go to LEADPATH_SHOTS_DIR.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, apiClient, launch, skipReason, shot, MOCK, openPage, stopAll, audit } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (dashboard scope, close rules)' : null);
const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
const DAY = 86400000;
const ZONE = 'Pacific/Auckland';

// Midday (local) of the day `days` after today in zone, as an ISO time — and the same for a time
// under 48 hours away that is still two calendar days later.
function wallTime(days, hour, zone) {
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const parts = (d) => Object.fromEntries(fmt.formatToParts(d).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
  const now = parts(new Date());
  const guess = Date.UTC(now.year, now.month - 1, now.day + days, hour, 0, 0);
  const p = parts(new Date(guess));
  const off = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second) - guess;
  return new Date(guess - off).toISOString().replace(/\.\d+Z$/, 'Z');
}

describe('web UI: the daily tool, finished', { skip: skip || false, timeout: 300000 }, () => {
  let srv, browser, sam, morgan, samApi, reasons;
  const PW = 'long-enough-secret';
  const L = {};
  const T = {};
  // signed in as one of the test's users, up to the dashboard's greeting (the list heading is
  // "My leads" or "Team leads")
  const open = (email) => openPage(browser, { base: srv.base, email, password: PW }, { heading: /Hello/ });
  before(async () => {
    srv = await startServer();
    const mk = async (email, name, role, manager_id) => (await srv.api('POST', '/users', { email, name, role, password: PW, manager_id })).body;
    morgan = await mk('morgan@example.com', 'Morgan Manager', 'manager');
    sam = await mk('sam@example.com', 'Sam Agent', 'agent', morgan.id);
    assert.equal((await srv.api('PATCH', '/settings', { time_zone: ZONE })).status, 200);
    samApi = await apiClient(srv.base, 'sam@example.com', PW);
    reasons = (await srv.api('GET', '/lost-reasons')).body.items;
    const lead = async (body) => (await samApi.api('POST', '/leads', body)).body;
    L.open = await lead({ full_name: 'Olivia Open', company: 'Open Ltd', phones: ['+44 7700 900123'] });
    L.call = await lead({ full_name: 'Carl Caller', company: 'Caller & Co' });
    L.call2 = await lead({ full_name: 'Petra Pending' });
    L.call3 = await lead({ full_name: 'Wanda Winner' });
    // closed history: the admin migrates it in, with closing dates
    const closed = async (name, daysAgo, outcome, reason) => (await srv.api('POST', '/leads', {
      full_name: name, owner_id: sam.id, status: 'closed', outcome, created_at: iso(-60 * DAY), closed_at: iso(-daysAgo * DAY),
      ...(reason ? { lost_reason_id: reason } : {}) })).body;
    L.closedOld = await closed('Zed Oldclosed', 30, 'won');
    L.closedNew = await closed('Quentin Zebra', 1, 'lost', reasons[0].id);
    L.closedMid = await closed('Mia Midclosed', 10, 'won');
    const task = async (leadId, title, due, type = 'call') => (await samApi.api('POST', `/leads/${leadId}/tasks`, { type, title, due_at: due })).body;
    T.call = await task(L.call.id, 'Call about the offer', iso(2 * 3600000));
    T.call2 = await task(L.call2.id, 'Call to check in', iso(3 * 3600000));
    T.call3 = await task(L.call3.id, 'Call to agree the order', iso(4 * 3600000));
    T.tomorrow = await task(L.open.id, 'Tomorrow noon call', wallTime(1, 12, ZONE));
    T.twoDays = await task(L.open.id, 'Day after tomorrow, early', wallTime(2, 1, ZONE));   // under 49 hours away, two calendar days
    T.missed = await task(L.open.id, 'Missed yesterday', iso(-DAY));
    T.old = await task(L.open.id, 'Missed last week', iso(-8 * DAY));
    for (let i = 0; i < 9; i++) await task(L.open.id, `Earlier follow-up ${i + 1}`, iso(3600000 + i * 60000), 'follow_up');
    // a teammate's lead and task, for the manager's Team view
    const bob = await mk('bob@example.com', 'Bob Agent', 'agent', morgan.id);
    const bobApi = await apiClient(srv.base, 'bob@example.com', PW);
    L.bob = (await bobApi.api('POST', '/leads', { full_name: 'Bea Bobslead' })).body;
    T.bob = (await bobApi.api('POST', `/leads/${L.bob.id}/tasks`, { type: 'call', title: 'Bob calls Bea', due_at: iso(5 * 3600000) })).body;
    assert.ok(bob.id && T.bob.id);
    browser = await launch();
  });
  after(() => stopAll(browser, srv));

  it('the Closed view: most recently closed first, with outcome, reason and closing date; no open match offers all leads', async () => {
    const { page, problems, ctx } = await open('sam@example.com');
    await page.goto(srv.base + '/leads?status=closed');
    const table = page.getByRole('table', { name: /Closed leads/ });
    await table.waitFor();
    const names = await table.locator('tbody tr .lead-link').allTextContents();
    assert.deepEqual(names, ['Quentin Zebra', 'Mia Midclosed', 'Zed Oldclosed'], 'most recently closed first');
    assert.deepEqual(await table.locator('thead th').allTextContents().then((h) => h.filter((x) => /Outcome|Closed/.test(x))), ['Outcome', 'Closed']);
    const row = table.locator('tr', { hasText: 'Quentin Zebra' });
    await row.getByText('Lost', { exact: true }).waitFor();
    await row.getByText(reasons[0].name).waitFor();
    assert.equal(await row.locator('time').first().getAttribute('datetime'), L.closedNew.closed_at);
    assert.equal(await page.getByLabel('Sort').inputValue(), '-closed_at');
    await audit(page, 'closed view');
    await shot(page, 'leads-closed-view');

    // search among open leads for a closed lead: nothing, and the offer to search all leads
    await page.goto(srv.base + '/leads');
    await page.getByLabel('Search').fill('Zebra');
    await page.getByText('No open lead matches “Zebra”.').waitFor();
    await page.getByRole('button', { name: 'Search all leads' }).click();
    await page.locator('tbody tr', { hasText: 'Quentin Zebra' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('status'), 'all');
    assert.deepEqual(problems, []);
    await ctx.close();
  });

  it('finishing a call: what happened, then still pending — or lost with its reason through the close preview', async () => {
    const { page, problems, ctx } = await open('sam@example.com');
    // still pending: the notes go on the timeline, the lead stays open
    await page.goto(srv.base + `/leads/${L.call2.id}`);
    await page.getByRole('button', { name: 'Complete… Call to check in' }).click();
    const dlg = page.getByRole('dialog', { name: 'Finish call: Call to check in' });
    await dlg.waitFor();
    assert.equal(await dlg.getByLabel('Still pending (stays open)').isChecked(), true);
    assert.equal(await dlg.getByLabel('Outcome').count(), 0, 'no close form while pending');
    await dlg.getByLabel('What happened on the call?').fill('Spoke to Petra, she needs a week to decide');
    await dlg.getByRole('button', { name: 'Complete call' }).click();
    await page.getByText('Call completed.').waitFor();
    await page.locator('.tl-comment', { hasText: 'Call to check in: Spoke to Petra, she needs a week to decide' }).waitFor();
    const task2 = (await samApi.api('GET', `/tasks?lead=${L.call2.id}&status=all`)).body.items.find((t) => t.id === T.call2.id);
    assert.equal(task2.status, 'done');
    assert.equal((await samApi.api('GET', `/leads/${L.call2.id}`)).body.status, 'open');

    // lost: the close dialog's rules — a reason is required, the preview says what will happen
    await page.goto(srv.base + `/leads/${L.call.id}`);
    await page.getByRole('button', { name: 'Complete… Call about the offer' }).click();
    const d2 = page.getByRole('dialog', { name: 'Finish call: Call about the offer' });
    await d2.getByLabel('What happened on the call?').fill('They chose a competitor on price');
    await d2.getByLabel('Lost').check();
    assert.equal(await d2.getByLabel('Outcome').inputValue(), 'lost');
    const confirm = d2.getByRole('button', { name: /Complete call and close/ });
    assert.equal(await confirm.isDisabled(), true, 'no reason yet');
    await d2.getByText('A lost reason is required for this outcome.').waitFor();
    await d2.getByLabel('Lost reason (required)').selectOption({ label: reasons[0].name });
    await d2.locator('.preview-list li').first().waitFor();
    assert.match(await d2.locator('.preview').textContent(), /Carl Caller will be closed as Lost/);
    await audit(page, 'finish call dialog');
    await shot(page, 'finish-call-dialog');
    await confirm.click();
    await page.getByText('Call completed. Lead closed.').waitFor();
    const lead = (await samApi.api('GET', `/leads/${L.call.id}`)).body;
    assert.equal(lead.status, 'closed');
    assert.equal(lead.outcome, 'lost');
    assert.equal(lead.lost_reason_id, reasons[0].id);
    assert.equal(lead.close_notes, 'They chose a competitor on price');
    const tl = (await samApi.api('GET', `/leads/${L.call.id}/timeline`)).body.items;
    assert.ok(tl.some((e) => e.kind === 'task_done' && e.data.task_id === T.call.id), 'the call is done on the timeline');
    await page.locator('.tl-comment', { hasText: 'They chose a competitor on price' }).waitFor();
    assert.deepEqual(problems, []);
    await ctx.close();
  });

  it('finishing a call as won when the close fails: the call stays recorded, only the close is tried again', async () => {
    const { page, problems, ctx } = await open('sam@example.com');
    await page.goto(srv.base + `/leads/${L.call3.id}`);
    await page.getByRole('button', { name: 'Complete… Call to agree the order' }).click();
    const dlg = page.getByRole('dialog', { name: 'Finish call: Call to agree the order' });
    await dlg.getByLabel('What happened on the call?').fill('Order agreed for next month');
    await dlg.getByLabel('Won').check();
    await dlg.locator('.preview-list li').first().waitFor();
    assert.match(await dlg.locator('.preview').textContent(), /Wanda Winner will be closed as Won/);
    // someone else changes the lead after the preview: the close meets a version conflict
    const cur = (await samApi.api('GET', `/leads/${L.call3.id}`)).body;
    assert.equal((await samApi.api('PATCH', `/leads/${L.call3.id}`, { company: 'Winner Ltd' }, { 'If-Match': `"${cur.version}"` })).status, 200);
    await dlg.getByRole('button', { name: 'Complete call and close' }).click();
    await dlg.getByText('The call is recorded as done; the lead is not closed yet.').waitFor();
    assert.equal(await dlg.getByLabel('Still pending (stays open)').isDisabled(), true, 'the call is done: pending is no longer a choice');
    let tasks = (await samApi.api('GET', `/tasks?lead=${L.call3.id}&status=all`)).body.items;
    assert.equal(tasks.find((t) => t.id === T.call3.id).status, 'done');
    assert.equal((await samApi.api('GET', `/leads/${L.call3.id}`)).body.status, 'open');
    // the latest version is loaded, the preview follows it; confirming now only closes
    const again = dlg.getByRole('button', { name: 'Confirm close' });
    await page.waitForFunction(() => { const b = [...document.querySelectorAll('dialog button')].find((x) => x.textContent.trim() === 'Confirm close'); return b && !b.disabled; });
    await again.click();
    await page.getByText('Call completed. Lead closed.').waitFor();
    const lead = (await samApi.api('GET', `/leads/${L.call3.id}`)).body;
    assert.equal(lead.status, 'closed');
    assert.equal(lead.outcome, 'won');
    assert.equal(lead.close_notes, 'Order agreed for next month');
    const tl = (await samApi.api('GET', `/leads/${L.call3.id}/timeline`)).body.items;
    assert.equal(tl.filter((e) => e.kind === 'task_done' && e.data.task_id === T.call3.id).length, 1, 'the call was completed once');
    assert.deepEqual(problems, []);
    await ctx.close();
  });

  it('the dashboard: dates beside words, "tomorrow" by the calendar in the company zone, lists that never repeat, Mine / Team', async () => {
    // an agent: no Team switch
    const a = await open('sam@example.com');
    assert.equal(await a.page.getByRole('group', { name: 'Whose figures' }).count(), 0);
    await a.page.getByText(`times shown in ${ZONE}`).waitFor();
    const fu = a.page.locator('#due-soon-list');
    await fu.waitFor();
    await a.page.getByRole('button', { name: /Show all/ }).click();
    const tomorrow = fu.locator(`li[data-task-id="${T.tomorrow.id}"] time`);
    await tomorrow.waitFor();
    const words = (await tomorrow.textContent()).replace(/\s+/g, ' ').trim();
    const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: ZONE }).format(new Date(T.tomorrow.due_at));
    assert.match(words, /^tomorrow\b/, words);
    assert.ok(words.includes(date), `the date itself beside the words: ${words}`);
    const two = (await fu.locator(`li[data-task-id="${T.twoDays.id}"] time`).textContent()).trim();
    assert.match(two, /^in 2 days/, 'two calendar days away is not "tomorrow"');
    // the two lists: missed yesterday is a follow-up (due ± 3 days), last week's is overdue; never both
    const fuIds = await fu.locator('li').evaluateAll((els) => els.map((e) => e.dataset.taskId));
    const odIds = await a.page.locator('#overdue-list li').evaluateAll((els) => els.map((e) => e.dataset.taskId));
    assert.ok(odIds.includes(String(T.old.id)));
    assert.ok(!fuIds.includes(String(T.old.id)));
    assert.equal(fuIds.filter((x) => odIds.includes(x)).length, 0, 'no task in both lists');
    // a follow-up created now (after nine earlier ones) shows without "Show all"
    const fresh = (await samApi.api('POST', `/leads/${L.open.id}/tasks`, { type: 'follow_up', title: 'Just created follow-up', due_at: iso(2 * DAY) })).body;
    await a.page.reload();
    await a.page.locator(`#due-soon-list li[data-task-id="${fresh.id}"]`).waitFor();
    assert.ok(await a.page.getByRole('button', { name: /Show all/ }).count() > 0, 'the list is longer than shown');
    await a.ctx.close();

    // the manager: Mine, then Team with the team's figures and tasks
    const m = await open('morgan@example.com');
    const sw = m.page.getByRole('group', { name: 'Whose figures' });
    await sw.waitFor();
    const openLeadsIs = (v) => m.page.waitForFunction((want) => {
      const el = [...document.querySelectorAll('.stat')].find((x) => x.textContent.includes('Open leads'));
      return el && el.querySelector('.stat-value').textContent === want;
    }, v);
    await openLeadsIs('0');
    await sw.getByRole('button', { name: 'Team' }).click();
    await m.page.getByRole('heading', { name: 'Team leads' }).waitFor();
    await m.page.getByRole('button', { name: /Show all 1[0-9]/ }).click();   // the team has more than the agent alone
    await m.page.locator(`#due-soon-list li[data-task-id="${T.bob.id}"]`).waitFor();
    assert.match(await m.page.locator(`#due-soon-list li[data-task-id="${T.bob.id}"]`).textContent(), /Bob Agent/);
    const expected = (await (await apiClient(srv.base, 'morgan@example.com', PW)).api('GET', '/dashboard?scope=team')).body.open_leads;
    await openLeadsIs(String(expected));
    assert.ok(expected >= 3);
    await m.page.locator('tbody tr', { hasText: 'Bea Bobslead' }).waitFor();
    await audit(m.page, 'dashboard, team');
    await shot(m.page, 'dashboard-team');
    assert.deepEqual([...a.problems, ...m.problems], []);
    await m.ctx.close();
  });

  it('words and looks: comment colour and icons, the due field, the status path, focus, "/"', async () => {
    const { page, problems, ctx } = await open('sam@example.com');
    // "/" focuses search: from the dashboard it goes to the leads list's search
    await page.keyboard.press('/');
    await page.waitForURL(/\/leads$/);
    await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'lead-search');
    await page.keyboard.type('Olivia');
    await page.locator('tbody tr', { hasText: 'Olivia Open' }).waitFor();
    // after navigation, focus is on the page heading
    await page.locator('tbody tr .lead-link', { hasText: 'Olivia Open' }).click();
    await page.getByRole('heading', { level: 1, name: 'Olivia Open' }).waitFor();
    await page.waitForFunction(() => document.activeElement && document.activeElement.tagName === 'H1' && document.activeElement.textContent.includes('Olivia Open'));

    // a comment icon named by another client shows as an icon
    await samApi.api('POST', `/leads/${L.open.id}/comments`, { body: 'Logged by the phone system', icon: 'phone', color: '#16a34a' });
    await page.reload();
    const apiItem = page.locator('.tl-item', { hasText: 'Logged by the phone system' });
    assert.equal((await apiItem.locator('.tl-icon').textContent()).trim(), '☎');
    // the chosen colour keeps its colour in the picker, and the comment shows it
    await page.getByLabel('Add a comment').fill('Red for urgent');
    await page.locator('label.pick[title="Red"]').click();
    const bg = await page.locator('label.pick[title="Red"] .swatch').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(bg, 'rgb(220, 59, 47)', 'the red swatch stays red when chosen');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    const red = page.locator('.tl-item.c-red', { hasText: 'Red for urgent' });
    await red.waitFor();
    assert.equal(await red.locator('.tl-comment').evaluate((el) => getComputedStyle(el).borderLeftColor), 'rgb(220, 59, 47)');

    // the due field shows its whole value
    const due = page.getByLabel('Due', { exact: true });
    const fits = await due.evaluate((el) => el.scrollWidth <= el.clientWidth + 1 && el.getBoundingClientRect().width >= 200);
    assert.ok(fits, 'the whole date and time fits in the due field');

    // the status path: whole stage names
    const stages = (await srv.api('GET', '/stages')).body.items;
    const long = stages.find((s) => s.name === 'Waiting for more information');
    assert.ok(long);
    const check = async () => {
      const btn = page.locator('.path .step button', { hasText: long.name });
      assert.equal((await btn.textContent()).trim(), long.name);
      assert.ok(await btn.evaluate((el) => el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1), 'not cut off');
      assert.equal(await btn.getAttribute('title'), long.name);
    };
    await check();

    // a dialog keeps focus inside it
    await page.getByRole('button', { name: 'Close lead…' }).first().click();
    const dlg = page.getByRole('dialog', { name: 'Close Olivia Open' });
    await dlg.waitFor();
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press(i % 7 === 6 ? 'Shift+Tab' : 'Tab');
      assert.ok(await page.evaluate(() => !!document.activeElement.closest('dialog[open]')), `focus left the dialog after ${i + 1} presses`);
    }
    await page.keyboard.press('Escape');

    // 375 px: the path still shows whole names, and the close dialog's Confirm can be reached
    await page.setViewportSize({ width: 375, height: 740 });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Olivia Open' }).waitFor();
    await check();
    await shot(page, 'lead-path-phone');
    await page.getByRole('button', { name: 'Close lead…' }).first().click();
    await dlg.waitFor();
    await dlg.getByLabel('Outcome').selectOption('won');
    const confirm = dlg.getByRole('button', { name: /Confirm close|Request approval/ });
    await page.waitForFunction(() => { const b = [...document.querySelectorAll('dialog[open] button')].find((x) => /Confirm close/.test(x.textContent)); return b && !b.disabled; });
    const box = await confirm.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 740 && box.x >= 0 && box.x + box.width <= 375, `Confirm is on screen: ${JSON.stringify(box)}`);
    await audit(page, 'close dialog at 375 px');
    await shot(page, 'close-dialog-phone');
    await confirm.click();
    await page.getByText('Lead closed.').waitFor();
    assert.deepEqual(problems, []);
    await ctx.close();
  });
});
