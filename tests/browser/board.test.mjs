// board.test.mjs — the pipeline board and the bulk close, on the real server: each column's
// count and value; dragging a card to another stage moves it (the stage-move rules); dropping it
// on an outcome opens the close dialog with that outcome, and closing there closes the lead; the
// "Move to…" menu does the same from the keyboard; the board at 375 px; axe; and the bulk close
// from the leads list: the single close's options, a preview of the whole selection (closes,
// refusals by name and why, tasks by title) and a mixed result listing each failed lead, linked.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, skipReason, shot, MOCK, openPage, stopAll, AXE } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (board figures, bulk preview)' : null);

describe('web UI: pipeline board and bulk close', { skip: skip || false, timeout: 240000 }, () => {
  let srv, browser, ctx, page, problems, stages, L = {};
  const lead = async (id) => (await srv.api('GET', `/leads/${id}`)).body;
  const stageId = (name) => stages.find((s) => s.name === name).id;
  const column = (name) => page.locator('section.bcol', { has: page.getByRole('heading', { name, exact: true }) });
  const card = (name) => page.locator('li.bcard', { has: page.getByRole('link', { name, exact: true }) });

  before(async () => {
    srv = await startServer();
    stages = (await srv.api('GET', '/stages')).body.items;
    const mk = async (full_name, stage, value_cents, extra = {}) => {
      const r = await srv.api('POST', '/leads', { full_name, owner_id: srv.user.id, stage_id: stageId(stage), value_cents, currency: 'EUR', ...extra });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body;
    };
    L.brook = await mk('Brook Board', 'New', 120000, { company: 'Brook Bakery' });
    L.cass = await mk('Cass Card', 'New', 30000);
    L.dee = await mk('Dee Drag', 'Contacted', 50000, { company: 'Dee Dental' });
    L.eli = await mk('Eli Ending', 'Quoted', 990000);
    const t = await srv.api('POST', `/leads/${L.eli.id}/tasks`, { type: 'call', title: 'Chase Eli about the quote', due_at: new Date(Date.now() - 86400000).toISOString() });
    assert.equal(t.status, 201);
    browser = await launch();
    ({ page, problems, ctx } = await openPage(browser, srv));
  });
  after(() => stopAll(browser, srv));

  it('shows each stage as a column with its count and value', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipeline' }).click();
    await page.getByRole('heading', { level: 1, name: 'Pipeline' }).waitFor();
    await card('Brook Board').waitFor();
    assert.match(await column('New').locator('.bcol-figures').innerText(), /2 leads · €1,500\.00/);
    assert.match(await column('Quoted').locator('.bcol-figures').innerText(), /1 lead · €9,900\.00/);
    await shot(page, 'board');
  });

  it('dragging a card to another stage moves the lead (and the figures follow)', async () => {
    await card('Brook Board').dragTo(column('Contacted'));
    await page.getByText('Brook Board moved to Contacted.').waitFor();
    assert.equal((await lead(L.brook.id)).stage_id, stageId('Contacted'));
    await column('Contacted').getByRole('link', { name: 'Brook Board' }).waitFor();
    await page.waitForFunction(() => /2 leads · €1,700\.00/.test(
      [...document.querySelectorAll('section.bcol')].find((s) => s.querySelector('h2')?.textContent === 'Contacted')?.innerText || ''));
    assert.match(await column('New').locator('.bcol-figures').innerText(), /1 lead · €300\.00/);
  });

  it('dropping a card on a closing outcome opens the close dialog with it; confirming closes the lead', async () => {
    await card('Eli Ending').dragTo(page.locator('li.bclose[data-outcome="lost"]'));
    const dlg = page.getByRole('dialog');
    await dlg.getByRole('heading', { name: 'Close Eli Ending' }).waitFor();
    assert.equal(await dlg.getByLabel('Outcome').inputValue(), 'lost', 'the outcome dropped on');
    const pv = dlg.locator('section.preview');
    await pv.getByText(/once a lost reason is chosen|A lost reason is required/).first().waitFor();
    assert.doesNotMatch(await pv.innerText(), /closed as \./, 'never a broken sentence');
    await dlg.getByLabel('Lost reason (required)').selectOption({ label: 'Price' });
    await pv.getByText('Eli Ending will be closed as Lost (reason: Price).').waitFor();
    await pv.getByText(/marked done: “Chase Eli about the quote”/).waitFor();
    assert.doesNotMatch(await pv.innerText(), /follow up\b|closed_lost/i, 'no raw keys');
    await shot(page, 'board-close-dialog');
    await dlg.getByRole('button', { name: 'Confirm close' }).click();
    await page.getByText('Lead closed.').waitFor();
    const l = await lead(L.eli.id);
    assert.equal(l.status, 'closed');
    assert.equal(l.outcome, 'lost');
    await card('Eli Ending').waitFor({ state: 'detached' });  /* a closed lead leaves the board */
  });

  it('the "Move to…" menu moves a card from the keyboard', async () => {
    const btn = page.getByRole('button', { name: 'Move Cass Card to…' });
    await btn.focus();
    await page.keyboard.press('ArrowDown');   // opens the menu on its first item
    const menu = page.getByRole('menu');
    await menu.waitFor();
    const names = await menu.getByRole('menuitem').allInnerTexts();
    const steps = names.indexOf('Quoted');
    assert.ok(steps >= 0, names.join(', '));
    for (let i = 0; i < steps; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByText('Cass Card moved to Quoted.').waitFor();
    assert.equal((await lead(L.cass.id)).stage_id, stageId('Quoted'));
    assert.deepEqual(problems, []);
  });

  it('is usable at 375 px: columns stack, nothing overflows sideways', async () => {
    const phone = await (await browser.newContext({ viewport: { width: 375, height: 800 }, storageState: await ctx.storageState() })).newPage();
    await phone.goto(srv.base + '/board');
    await phone.locator('li.bcard').first().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no sideways scroll (${overflow}px)`);
    const box = await phone.locator('section.bcol').first().boundingBox();
    assert.ok(box.width <= 375 && box.width > 300, `a column takes the width (${box.width})`);
    await phone.getByRole('button', { name: 'Move Dee Drag to…' }).click();
    await phone.getByRole('menuitem', { name: 'Quoted' }).waitFor();
    await shot(phone, 'phone-board');
    await phone.close();
  });

  it('axe finds nothing serious on the board and the bulk close dialog', async () => {
    const a = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true, storageState: await ctx.storageState() })).newPage();
    const audit = async (what) => {
      await a.addScriptTag({ path: AXE });
      // eslint-disable-next-line no-undef
      const v = await a.evaluate(async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
        .map((x) => ({ id: x.id, impact: x.impact, nodes: x.nodes.slice(0, 3).map((n) => n.target.join(' ')) })));
      assert.deepEqual(v.filter((x) => x.impact === 'serious' || x.impact === 'critical'), [], what);
    };
    await a.goto(srv.base + '/board?owner=any');
    await a.locator('li.bcard').first().waitFor();
    await audit('board');
    await a.goto(srv.base + '/leads?owner=any');
    await a.getByLabel('Select Dee Drag').check();
    await a.getByLabel('Action', { exact: true }).selectOption('close');
    await a.getByRole('dialog').getByLabel('Outcome').selectOption('won');
    await a.getByRole('dialog').getByText(/will be closed as Won/).waitFor();
    await audit('bulk close dialog');
    await a.close();
  });

  it('bulk close: the single close\'s options, a preview of the whole selection, a mixed result by name', async () => {
    const mk = async (full_name) => (await srv.api('POST', '/leads', { full_name, owner_id: srv.user.id })).body;
    const f = await mk('Fay Fine');
    const g = await mk('Gus Gone');
    const h = await mk('Hal Halfway');
    await srv.api('POST', `/leads/${f.id}/tasks`, { type: 'call', title: 'Ring Fay one last time', due_at: new Date(Date.now() - 3600000).toISOString() });
    await page.goto(srv.base + '/leads');
    for (const n of ['Fay Fine', 'Gus Gone', 'Hal Halfway']) await page.getByLabel('Select ' + n).check();
    // Gus closes elsewhere before the bulk close is even opened: the preview names it as refused
    assert.equal((await srv.api('POST', `/leads/${g.id}/close`, { outcome: 'won' })).status, 200);
    await page.getByLabel('Action', { exact: true }).selectOption('close');
    const dlg = page.getByRole('dialog');
    await dlg.getByRole('heading', { name: 'Close 3 leads' }).waitFor();
    await dlg.getByLabel('Outcome').selectOption('lost');
    await dlg.getByText('Choose a lost reason to see what closing these leads will do.').waitFor();
    await dlg.getByLabel('Lost reason (required)').selectOption({ label: 'Timing' });
    await dlg.getByLabel('Notes').fill('End of season');
    const pv = dlg.locator('section.preview');
    await pv.getByText(/2 leads of 3 will be closed as Lost/).waitFor();
    assert.match(await pv.innerText(), /1 task will be marked done: “Ring Fay one last time”/);
    assert.match(await pv.innerText(), /2 leads will be added to the group Live Leads/);
    const refused = pv.locator('.notice');
    assert.match(await refused.innerText(), /1 lead will not be closed:\s*Gus Gone: .*closed/i);
    await shot(page, 'bulk-close-preview');
    // Hal closes elsewhere after the preview: the result lists it as failed, by name
    assert.equal((await srv.api('POST', `/leads/${h.id}/close`, { outcome: 'won' })).status, 200);
    await dlg.getByRole('button', { name: 'Close 2 leads' }).click();
    await dlg.getByRole('heading', { name: 'Bulk close: done' }).waitFor();
    const res = dlg.locator('.bulk-result');
    assert.match(await res.innerText(), /1 lead closed, 2 failed/);
    await res.getByRole('link', { name: 'Hal Halfway' }).waitFor();
    await res.getByRole('link', { name: 'Gus Gone' }).waitFor();
    await shot(page, 'bulk-close-result');
    const fay = await lead(f.id);
    assert.equal(fay.outcome, 'lost');
    assert.equal(fay.close_notes, 'End of season', 'the notes went with it');
    await res.getByRole('link', { name: 'Hal Halfway' }).click();
    await page.getByRole('heading', { level: 1, name: 'Hal Halfway' }).waitFor();
    assert.deepEqual(problems, []);
  });
});
