// tickets.test.mjs — support tickets in the browser, against the real server: the lead page's
// Tickets card opens a ticket with the dialog (a blank subject refused at its field), lists it
// under Open, its page takes comments, changes the priority and closes it, and the lead page then
// lists it under Closed; the customer page has the same card; the Related card names an existing
// customer sharing an address; the Tickets page finds tickets by search.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, skipReason, shot, MOCK, openPage, stopAll } from './helpers.mjs';

const skip = skipReason() || (MOCK ? 'needs the real server (tickets)' : null);

describe('web UI: support tickets', { skip: skip || false, timeout: 180000 }, () => {
  let srv, browser, page, problems, lead, cust, twin;

  before(async () => {
    srv = await startServer();
    let r = await srv.api('POST', '/leads', { full_name: 'Terry Trouble', emails: ['terry@trouble.example'], owner_id: srv.user.id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    lead = r.body;
    r = await srv.api('POST', '/leads', { full_name: 'Carol Client', emails: ['carol@client.example'], company: 'Client Corp', owner_id: srv.user.id });
    r = await srv.api('POST', `/leads/${r.body.id}/convert`, { mode: 'active_invoice', services: [{ description: 'Hosting', unit_price_cents: 2500, period: 'monthly' }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    cust = r.body.customer;
    r = await srv.api('POST', '/leads', { full_name: 'Carol Again', emails: ['carol@client.example'], owner_id: srv.user.id });
    twin = r.body;
    browser = await launch();
    ({ page, problems } = await openPage(browser, srv, { viewport: { width: 1366, height: 1000 } }));
  });

  after(() => stopAll(browser, srv));

  const card = () => page.locator('section.tickets-card');

  it('opens a ticket from the lead page; the dialog shows the server\'s refusal at its field', async () => {
    await page.goto(srv.base + `/leads/${lead.id}`);
    await card().getByRole('heading', { name: 'Tickets' }).waitFor();
    await card().getByText('No tickets yet.').waitFor();
    await card().getByRole('button', { name: 'New ticket' }).click();
    const dlg = page.getByRole('dialog', { name: 'New ticket' });
    assert.equal(await dlg.getByLabel('On behalf of').getAttribute('placeholder'), 'Terry Trouble <terry@trouble.example>');
    await dlg.getByLabel('Subject').fill('   ');
    await dlg.getByRole('button', { name: 'Open ticket' }).click();
    await dlg.locator('.field.has-error', { has: page.getByLabel('Subject') }).waitFor();
    await dlg.getByLabel('Subject').fill('Cannot log in to the portal');
    await dlg.getByLabel('Details').fill('Since the password reset.\nTried twice.');
    await dlg.getByLabel('Priority').selectOption('high');
    await dlg.getByRole('button', { name: 'Open ticket' }).click();
    await card().locator('.ticket-list-open .ticket-item', { hasText: 'Cannot log in to the portal' }).waitFor();
    const t = (await srv.api('GET', `/leads/${lead.id}/tickets`)).body.items[0];
    assert.equal(t.priority, 'high');
    assert.equal(t.requester, 'Terry Trouble <terry@trouble.example>');
    assert.equal(t.body, 'Since the password reset.\nTried twice.');
    await shot(page, 'lead-tickets');
  });

  it('the ticket page takes comments, changes the priority and closes it; the lead page lists it as closed', async () => {
    await card().getByRole('link', { name: 'Cannot log in to the portal' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cannot log in to the portal' }).waitFor();
    await page.getByText('Since the password reset.').waitFor();
    await page.getByLabel('Add a comment').fill('Reset link sent <again>.');
    await page.getByRole('button', { name: 'Comment' }).click();
    await page.locator('.ticket-comment', { hasText: 'Reset link sent <again>.' }).waitFor();
    await page.getByLabel('Priority').selectOption('urgent');
    await page.getByText('Priority changed.').waitFor();
    await page.getByRole('button', { name: 'Close ticket' }).click();
    await page.getByText('Ticket closed.').waitFor();
    await page.getByRole('button', { name: 'Reopen' }).waitFor();
    const t = (await srv.api('GET', `/leads/${lead.id}/tickets`)).body.items[0];
    assert.equal(t.status, 'closed');
    assert.equal(t.priority, 'urgent');
    assert.equal(t.comment_count, 1);
    await shot(page, 'ticket-page');
    await page.getByRole('link', { name: 'Terry Trouble' }).click();
    await card().locator('.ticket-list-closed .ticket-item', { hasText: 'Cannot log in to the portal' }).waitFor();
    await page.locator('.tl-k-ticket_closed').first().waitFor();
  });

  it('the customer page has its tickets card; the Related card names the existing customer', async () => {
    await page.goto(srv.base + `/customers/${cust.id}`);
    await card().getByRole('heading', { name: 'Tickets' }).waitFor();
    await card().getByRole('button', { name: 'New ticket' }).click();
    const dlg = page.getByRole('dialog', { name: 'New ticket' });
    await dlg.getByLabel('Subject').fill('Invoice address wrong');
    await dlg.getByRole('button', { name: 'Open ticket' }).click();
    await card().locator('.ticket-list-open .ticket-item', { hasText: 'Invoice address wrong' }).waitFor();
    const list = (await srv.api('GET', `/customers/${cust.id}/tickets`)).body.items;
    assert.equal(list.length, 1);
    assert.equal(list[0].customer_id, cust.id);
    await page.goto(srv.base + `/leads/${twin.id}`);
    const rel = page.locator('section.related-card');
    await rel.getByText('Existing customer').waitFor();
    await rel.locator('.related-customer').getByRole('link', { name: 'Carol Client' }).waitFor();
    assert.match(await rel.innerText(), /1 open ticket/);
    assert.match(await rel.innerText(), /Same e-mail carol@client\.example/);
  });

  it('the Tickets page finds tickets by search', async () => {
    await page.goto(srv.base + '/tickets');
    await page.getByRole('heading', { level: 1, name: 'Tickets' }).waitFor();
    await page.locator('table.tickets-table').getByRole('link', { name: 'Invoice address wrong' }).waitFor();
    await page.getByLabel('Search tickets').fill('portal');
    await page.getByLabel('Status').selectOption('all');
    await page.locator('table.tickets-table').getByRole('link', { name: 'Cannot log in to the portal' }).waitFor();
    await page.locator('table.tickets-table').getByRole('link', { name: 'Invoice address wrong' }).waitFor({ state: 'detached' });
    assert.equal(await page.locator('table.tickets-table tbody tr').count(), 1);
    assert.deepEqual(problems, []);
  });
});
