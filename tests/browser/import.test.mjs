// import.test.mjs — the import dialog on the real server, with a small file: the file is uploaded
// (its progress shown), the columns are matched to lead fields as the server suggests (by name),
// one is changed by hand, the preview shows the first rows as they will be imported, "Check all
// rows" counts what would happen and lists the failed row by its line, and the import with
// "Update that lead" updates the open lead sharing an e-mail, creates the others, shows the job's
// progress and the result; closing before importing removes the upload. axe on the dialog.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launch, skipReason, shot, MOCK, openPage, stopAll, audit } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (uploads and import jobs)' : null);

const CSV = 'First name,Last name,E-mail,Telephone,Shoe size\r\n'
  + 'Petra,Import,petra@import.test,+44 20 7946 0011,38\r\n'
  + ',,nobody@import.test,,41\r\n'
  + 'Paul,Import,paul@import.test,,44\r\n'
  + 'Olga,Again,olga@import.test,,40\r\n';

describe('web UI: importing leads from a CSV file', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page, problems, olga;

  before(async () => {
    srv = await startServer();
    const r = await srv.api('POST', '/leads', { full_name: 'Olga Original', emails: ['olga@import.test'], owner_id: srv.user.id });
    assert.equal(r.status, 201);
    olga = r.body;
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1366, height: 1000 } }));
  });
  after(() => stopAll(browser, srv));

  it('uploads, matches columns to fields, previews, checks, imports with updates, and shows the result by line', async () => {
    await page.goto(srv.base + '/leads');
    await page.getByRole('button', { name: 'Import CSV' }).click();
    const dlg = page.getByRole('dialog', { name: 'Import leads from CSV' });
    await dlg.getByLabel('CSV file').setInputFiles({ name: 'old-crm.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await dlg.getByText('4 rows to import').waitFor();

    // the suggested mapping: names matched, the unknown column left out
    const sel = (col) => dlg.getByLabel(`Imported as (column ${col})`);
    assert.equal(await sel('First name').inputValue(), 'full_name');
    assert.equal(await sel('Last name').inputValue(), 'full_name');
    assert.equal(await sel('E-mail').inputValue(), 'emails');
    assert.equal(await sel('Telephone').inputValue(), 'phones');
    assert.equal(await sel('Shoe size').inputValue(), '');
    // changed by hand: the shoe size goes into the notes
    await sel('Shoe size').selectOption('notes');
    const preview = dlg.getByRole('region', { name: 'Preview of the first rows' });
    await preview.getByRole('columnheader', { name: 'Notes' }).waitFor();
    assert.deepEqual(await preview.locator('tbody tr').first().locator('td').allInnerTexts(),
      ['Petra Import', 'petra@import.test', '+44 20 7946 0011', '38']);
    await audit(page, 'the import dialog with its mapping');
    await shot(page, 'import-dialog');

    // a check: nothing written, the failed row named by its line
    await dlg.getByLabel('Update that lead').check();
    await dlg.getByRole('button', { name: 'Check all rows' }).click();
    await dlg.getByText('2 rows would be created, 1 would update a lead').waitFor().catch(async (e) => {
      throw new Error(`${e.message}\nthe dialog says: ${await dlg.innerText()}`);
    });
    await dlg.getByText(/Line 3 \(row 2\): full_name/).waitFor();
    assert.equal((await srv.api('GET', '/leads?q=import.test&status=all&owner=any')).body.items.length, 1, 'a check creates nothing');

    await dlg.getByRole('button', { name: 'Import 4 rows' }).click();
    await dlg.getByText('2 leads created, 1 lead updated').waitFor();
    await dlg.getByText(/1 row failed/).waitFor();
    const made = (await srv.api('GET', '/leads?q=import.test&status=all&owner=any')).body.items.map((l) => l.full_name).sort();
    assert.deepEqual(made, ['Olga Again', 'Paul Import', 'Petra Import']);
    const o = (await srv.api('GET', `/leads/${olga.id}`)).body;
    assert.equal(o.full_name, 'Olga Again', 'the open lead with that e-mail was updated');
    assert.equal(o.notes, '40');
    assert.equal((await dlg.getByRole('button', { name: /Import \d+ rows/ }).count()), 0, 'no second import of the same file');
    await dlg.getByRole('button', { name: 'Close', exact: true }).click();
    await dlg.waitFor({ state: 'hidden' });
    // the list shows the new leads
    await page.getByRole('link', { name: 'Petra Import' }).first().waitFor();
    assert.deepEqual(problems, []);
  });

  it('a file that is not CSV text is refused in the dialog; closing before importing removes the upload', async () => {
    await page.goto(srv.base + '/leads');
    await page.getByRole('button', { name: 'Import CSV' }).click();
    const dlg = page.getByRole('dialog', { name: 'Import leads from CSV' });
    await dlg.getByLabel('CSV file').setInputFiles({ name: 'photo.csv', mimeType: 'text/csv',
      buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]) });
    await dlg.getByRole('alert').filter({ hasText: /not (CSV|UTF-8) text/ }).waitFor();
    await dlg.getByLabel('CSV file').setInputFiles({ name: 'two.csv', mimeType: 'text/csv', buffer: Buffer.from('Name\r\nZoe Zed\r\n') });
    await dlg.getByText('1 row to import').waitFor();
    const spool = path.join(srv.dir, 't.db-spool');
    const waiting = fs.readdirSync(spool).length;
    assert.ok(waiting >= 1, 'the file waits on the server');
    await dlg.getByRole('button', { name: 'Close', exact: true }).click();
    await dlg.waitFor({ state: 'hidden' });
    for (let i = 0; i < 50 && fs.readdirSync(spool).length === waiting; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(fs.readdirSync(spool).length, waiting - 1, 'closing the dialog removed the upload');
    assert.equal((await srv.api('GET', '/leads?q=Zoe&status=all&owner=any')).body.items.length, 0);
    assert.deepEqual(problems, []);
  });
});
