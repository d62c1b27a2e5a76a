// convert.test.mjs — from quote to customer in the browser, against the real server: a quote is
// made on the lead page with the line editor (the server's figures shown), marked sent and
// accepted; the Convert wizard walks its steps (quotes → kind → services edited → confirm with the
// dry-run preview) and lands on the new customer's page, which shows the services as edited, the
// invoice with its PDF and printable links, and the link back to the lead's history; the
// customers list finds the customer by search; a proforma is marked paid into an invoice.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, skipReason, MOCK, openPage, stopAll } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (conversion)' : null);

describe('web UI: quotes and the convert wizard', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page, problems, lead, proLead;

  before(async () => {
    srv = await startServer();
    let r = await srv.api('PATCH', '/settings', { currency: 'EUR' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await srv.api('POST', '/leads', { full_name: 'Wanda Wizard', company: 'Wizard Works', emails: ['wanda@example.com'],
      phones: ['+14155550177'], owner_id: srv.user.id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    lead = r.body;
    r = await srv.api('POST', '/leads', { full_name: 'Peter Proforma', emails: ['peter@example.com'], owner_id: srv.user.id });
    proLead = r.body;
    r = await srv.api('POST', `/leads/${proLead.id}/convert`, { mode: 'inactive_proforma', services: [{ description: 'Setup', unit_price_cents: 10000 }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1366, height: 1000 } }));
  });

  after(() => stopAll(browser, srv));

  const card = () => page.locator('section.quotes-card');

  it('makes a quote with the line editor and moves it to accepted; the figures are the server\'s', async () => {
    await page.goto(srv.base + `/leads/${lead.id}`);
    await card().getByRole('heading', { name: 'Quotes' }).waitFor();
    await card().getByText('No quotes yet').waitFor();
    await card().getByRole('button', { name: 'New quote' }).click();
    const form = card().locator('form.quote-form');
    await form.getByLabel('Description of line 1').fill('Installation');
    await form.getByLabel('Quantity of line 1').fill('3');
    await form.getByLabel('Unit price of line 1').fill('3.33');
    await form.getByLabel('Tax rate of line 1').fill('20');
    await form.getByRole('button', { name: 'Add line' }).click();
    await form.getByLabel('Description of line 2').fill('Fibre');
    await form.getByLabel('Unit price of line 2').fill('10.05');
    await form.getByLabel('Period of line 2').selectOption('monthly');
    await form.getByLabel('Tax rate of line 2').fill('5.5');
    // a bad line first: the server's refusal is shown at the line
    await form.getByLabel('Description of line 1').fill('');
    await form.getByRole('button', { name: 'Save quote' }).click();
    await form.locator('.field-error').first().waitFor();
    await form.getByLabel('Description of line 1').fill('Installation');
    await form.getByRole('button', { name: 'Save quote' }).click();
    const q = card().locator('li.quote');
    await q.waitFor();
    const total = await q.locator('.quote-total').innerText();
    assert.match(total, /22[.,]59/, `total as the server computed it: ${total}`);
    await q.getByRole('button', { name: 'Mark sent' }).click();
    await q.getByRole('button', { name: 'Accepted' }).click();
    await card().locator('.quote-status-accepted').waitFor();
    const quotes = (await srv.api('GET', `/leads/${lead.id}/quotes`)).body.items;
    assert.equal(quotes.length, 1);
    assert.equal(quotes[0].status, 'accepted');
    assert.equal(quotes[0].total_cents, 2259);
  });

  it('converts through the wizard with edited services and lands on the customer page', async () => {
    await page.getByRole('button', { name: 'Actions' }).click();
    await page.getByRole('menuitem', { name: 'Convert to customer…' }).click();
    const dlg = page.getByRole('dialog', { name: 'Convert to customer' });
    await dlg.getByText('1. Quotes').waitFor();
    assert.equal(await dlg.getByRole('checkbox').isChecked(), true, 'the accepted quote is chosen');
    await dlg.getByRole('button', { name: 'Next' }).click();
    await dlg.getByLabel(/Active customer with an invoice/).check();
    await dlg.getByRole('button', { name: 'Edit services' }).click();
    await dlg.getByLabel('Description of line 2').fill('Fibre 1 Gbit/s');
    await dlg.getByLabel('Start date of line 2').fill('2027-02-01');
    await dlg.getByRole('button', { name: 'Review' }).click();
    const pv = dlg.locator('.convert-preview');
    await pv.waitFor();
    assert.match(await pv.innerText(), /Fibre 1 Gbit\/s/);
    assert.match(await pv.locator('.preview-invoice').innerText(), /INV-\d{4}-000001/);
    // nothing made yet
    assert.equal((await srv.api('GET', `/leads/${lead.id}`)).body.status, 'open');
    await dlg.getByRole('button', { name: 'Convert' }).click();
    await page.waitForURL(/\/customers\/\d+$/);
    await page.getByRole('heading', { name: 'Wanda Wizard' }).waitFor();
    const services = page.locator('table.services-table');
    assert.match(await services.innerText(), /Fibre 1 Gbit\/s[\s\S]*2027-02-01/);
    const inv = page.locator('table.invoices-table tr[data-invoice]');
    assert.match(await inv.innerText(), /INV-\d{4}-000001/);
    const pdf = await inv.getByRole('link', { name: 'PDF' }).getAttribute('href');
    assert.match(pdf, /^\/api\/v1\/invoices\/\d+\.pdf$/);
    const res = await page.request.get(srv.base + pdf);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['content-type'], 'application/pdf');
    assert.ok(await inv.getByRole('link', { name: 'Print' }).isVisible());
    const l = (await srv.api('GET', `/leads/${lead.id}`)).body;
    assert.equal(l.outcome, 'converted');
    await page.getByRole('link', { name: /lead's history/ }).click();
    await page.waitForURL(new RegExp(`/leads/${lead.id}$`));
    await page.locator('.closed-card').getByRole('link', { name: 'Open the customer' }).waitFor();
  });

  it('the customers list finds by search; a proforma is marked paid into an invoice', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Customers' }).click();
    await page.getByRole('heading', { name: 'Customers' }).waitFor();
    await page.getByLabel('Search customers').fill('proforma');
    await page.locator('table.customers-table').getByRole('link', { name: 'Peter Proforma' }).waitFor();
    await page.locator('table.customers-table').getByRole('link', { name: 'Wanda Wizard' }).waitFor({ state: 'detached' });
    assert.equal(await page.locator('table.customers-table tbody tr').count(), 1);
    await page.getByRole('link', { name: 'Peter Proforma' }).click();
    await page.getByText('Inactive').first().waitFor();
    await page.getByRole('button', { name: 'Mark paid → invoice' }).click();
    await page.getByText(/Paid: invoice INV-\d{4}-\d{6} made from PRO-\d{4}-000001/).waitFor();
    assert.equal(await page.locator('table.invoices-table tr[data-invoice]').count(), 2);
    await page.locator('.page-head').getByText('Active').waitFor();
    assert.deepEqual(problems, []);
  });
});
