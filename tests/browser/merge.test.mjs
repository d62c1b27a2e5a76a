// merge.test.mjs — leads that belong together, on the real server: the new-lead form warns of
// an open lead with the same e-mail (open it, or create anyway); the lead page's Related card
// lists the leads sharing an e-mail, phone or company with what matched; the merge dialog takes
// a related lead and one found by search, shows each field's choices with the server's
// defaults, previews what moves, and merges: the other leads close as merged and link to the
// survivor, whose timeline tells the story.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, skipReason, shot, MOCK, openPage, stopAll } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (duplicates and merge)' : null);

describe('web UI: related leads, duplicates, merge', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page, problems, ann, twin, far;

  before(async () => {
    srv = await startServer();
    const mk = async (body) => {
      const r = await srv.api('POST', '/leads', { owner_id: srv.user.id, ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body;
    };
    ann = await mk({ full_name: 'Ann Archer', emails: ['ann@archer.example'], company: 'Archer Roofing', city: 'Leeds' });
    twin = await mk({ full_name: 'Annie Archer', phones: ['+44 7700 900555'], company: 'archer  roofing', city: 'York',
      request: 'New gutters' });
    far = await mk({ full_name: 'Zed Faraway', emails: ['zed@far.example'] });
    const r = await srv.api('POST', `/leads/${twin.id}/comments`, { body: 'Call after 5pm' });
    assert.equal(r.status, 201);
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1366, height: 1000 } }));
  });

  after(() => stopAll(browser, srv));

  it('the new-lead form warns of an open lead with the same e-mail: open it, or create anyway', async () => {
    await page.goto(srv.base + '/leads');
    await page.getByRole('button', { name: 'New lead' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Full name').fill('Ann A.');
    await dlg.getByLabel('Email').fill('ANN@archer.example');
    await dlg.getByRole('button', { name: 'Create lead' }).click();
    const warn = dlg.getByRole('alert').filter({ hasText: 'same details' });
    await warn.waitFor();
    assert.match(await warn.innerText(), /e-mail ann@archer\.example/);
    assert.equal(await dlg.getByRole('button', { name: 'Create lead' }).isDisabled(), true, 'create waits for a choice');
    let n = (await srv.api('GET', '/leads?q=Ann&owner=any&status=all')).body.items.length;
    assert.equal(n, 2, 'nothing was created by the check');
    await warn.getByRole('link', { name: 'Open Ann Archer' }).click();
    await page.getByRole('heading', { level: 1, name: 'Ann Archer' }).waitFor();

    // and once more, creating anyway
    await page.goto(srv.base + '/leads');
    await page.getByRole('button', { name: 'New lead' }).click();
    await dlg.getByLabel('Full name').fill('Ann Again');
    await dlg.getByLabel('Email').fill('ann@archer.example');
    await dlg.getByRole('button', { name: 'Create lead' }).click();
    await dlg.getByRole('button', { name: 'Create anyway' }).click();
    await page.getByRole('heading', { level: 1, name: 'Ann Again' }).waitFor();
    n = (await srv.api('GET', '/leads?q=Ann&owner=any&status=all')).body.items.length;
    assert.equal(n, 3);
  });

  it('the Related card lists the leads sharing a key, with what matched', async () => {
    await page.goto(srv.base + `/leads/${ann.id}`);
    const card = page.locator('section.related-card');
    await card.getByRole('heading', { name: 'Related' }).waitFor();
    await card.getByRole('link', { name: 'Annie Archer' }).waitFor();
    const txt = await card.innerText();
    assert.match(txt, /Same company archer roofing/);
    assert.match(txt, /Same e-mail ann@archer\.example/, 'the lead created anyway');
    assert.doesNotMatch(txt, /Zed Faraway/);
    await shot(page, 'lead-related');
  });

  it('merges a related lead and a searched one: choices, preview, confirm; the others close as merged', async () => {
    await page.goto(srv.base + `/leads/${ann.id}`);
    const card = page.locator('section.related-card');
    await card.getByRole('button', { name: 'Merge into this lead: Annie Archer' }).click();
    const dlg = page.getByRole('dialog', { name: 'Merge leads into Ann Archer' });
    await dlg.locator('.merge-picked li', { hasText: 'Annie Archer' }).waitFor();
    // a lead found by search
    await dlg.getByLabel('Find a lead').fill('Faraway');
    await dlg.getByRole('button', { name: 'Add Zed Faraway' }).click();
    await dlg.locator('.merge-picked li', { hasText: 'Zed Faraway' }).waitFor();
    // the defaults come from the server: the city of the newer open lead
    const preview = dlg.locator('.merge-preview');
    await preview.waitFor();
    const cityRow = dlg.locator('table.merge-fields tr', { has: page.getByRole('rowheader', { name: 'City' }) });
    assert.equal(await cityRow.getByRole('radio', { name: 'City from Annie Archer' }).isChecked(), true, 'default: the newer lead');
    // keep this lead's city and name instead
    await cityRow.getByRole('radio', { name: 'City from this lead' }).check();
    await dlg.locator('table.merge-fields tr', { has: page.getByRole('rowheader', { name: 'Full name' }) })
      .getByRole('radio', { name: 'Full name from this lead' }).check();
    await cityRow.locator('.merge-result', { hasText: 'Leeds' }).waitFor();
    assert.match(await preview.innerText(), /1 comment/);
    assert.match(await preview.innerText(), /Annie Archer: closed as merged/);
    // the preview wrote nothing
    assert.equal((await srv.api('GET', `/leads/${twin.id}`)).body.status, 'open');
    await shot(page, 'merge-dialog');
    await dlg.getByRole('button', { name: 'Merge 2 leads' }).click();
    await page.getByText('Merged 2 leads into this one.').waitFor();
    const a = (await srv.api('GET', `/leads/${ann.id}`)).body;
    assert.equal(a.city, 'Leeds');
    assert.equal(a.full_name, 'Ann Archer');
    assert.equal(a.request, 'New gutters');
    assert.ok(a.phones.includes('+447700900555') && a.emails.includes('zed@far.example'));
    for (const id of [twin.id, far.id]) {
      const o = (await srv.api('GET', `/leads/${id}`)).body;
      assert.equal(o.outcome, 'merged');
      assert.equal(o.merged_into, ann.id);
    }
    // the story: the merge and the moved comment on the survivor; the link on the other
    await page.locator('.tl-k-merged').first().waitFor();
    await page.locator('.tl-k-comment', { hasText: 'Call after 5pm' }).waitFor();
    await page.goto(srv.base + `/leads/${twin.id}`);
    await page.locator('.tl-k-merged_into').getByRole('link', { name: 'Ann Archer' }).waitFor();
    await page.locator('section.related-card').getByText('Merged into').waitFor();
    assert.deepEqual(problems, []);
  });
});
