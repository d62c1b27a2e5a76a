// pages/customers.js — Customers: the list with search (name, company, e-mail, phone; the server
// searches), and one customer's page: details and consent, services, invoices and proformas (PDF
// and printable page as links; a paid proforma is finalized into an invoice here), and the link
// to the lead's history (the lead page and its timeline); its tickets (components/tickets.js).
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Link, ErrorBox, Spinner, Notice, nameOf, useApp } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';
import { fmtDate, fmtDateTime, money, useDebounced, useLoader } from '../util.js';
import { TicketsCard } from '../components/tickets.js';

export function CustomersPage() {
  const [q, setQ] = useState(() => new URLSearchParams(location.search).get('q') || '');
  const [cursor, setCursor] = useState(null);
  const dq = useDebounced(q, 250);
  const [state] = useLoader(() => api.customers.list({ q: dq || undefined, cursor: cursor || undefined, limit: 50 }), [dq, cursor]);
  const items = (state.data && state.data.items) || [];
  return html`<section class="page customers-page">
    <div class="page-head"><h1>Customers</h1></div>
    <form class="searchbar" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label class="sr-only" for="cust-q">Search customers</label>
      <input id="cust-q" type="search" placeholder="Search name, company, e-mail or phone" value=${q}
        onInput=${(e) => { setQ(e.currentTarget.value); setCursor(null); }} />
    </form>
    <${ErrorBox} error=${state.error} />
    ${state.loading && !state.data ? html`<${Spinner} />` : items.length ? html`<div class="table-wrap"><table class="customers-table">
      <thead><tr><th scope="col">Name</th><th scope="col">Company</th><th scope="col">E-mail</th><th scope="col">Phone</th><th scope="col">Status</th><th scope="col" class="n">Balance</th></tr></thead>
      <tbody>${items.map((c) => html`<tr data-customer=${c.id}>
        <td><${Link} href=${`/customers/${c.id}`}>${c.full_name}<//></td><td>${c.company || '—'}</td>
        <td>${c.emails[0] || '—'}</td><td>${c.phones[0] || '—'}</td>
        <td><span class=${'badge ' + (c.active ? 'badge-open' : 'badge-paused')}>${c.active ? 'Active' : 'Inactive'}</span></td>
        <td class="n">${money(c.balance_cents, c.currency)}</td></tr>`)}</tbody></table></div>
      ${state.data.next_cursor ? html`<div class="actions"><button type="button" class="btn" onClick=${() => setCursor(state.data.next_cursor)}>Older customers</button></div>` : null}`
    : html`<p class="empty">${dq ? 'No customer matches that search.' : 'No customers yet: convert a lead from its page.'}</p>`}
  </section>`;
}

function InvoiceRow({ inv, onChanged, setNotice }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const finalize = async () => {
    setBusy(true); setError(null);
    try { const r = await api.customers.finalize(inv.id, inv.version); setNotice(`Paid: invoice ${r.number} made from ${inv.number}.`); onChanged(); }
    catch (e) { setError(conflictOr(e, 'invoice', 'The page now shows the latest version.')); if (isConflict(e)) onChanged(); }
    setBusy(false);
  };
  return html`<tr data-invoice=${inv.id}>
    <td><b>${inv.number}</b></td><td>${inv.kind === 'proforma' ? 'Proforma' : 'Invoice'}</td><td>${inv.status === 'paid' ? 'Paid' : 'Issued'}</td>
    <td>${fmtDate(inv.issued_at)}</td><td class="n">${money(inv.total_cents, inv.currency)}</td>
    <td class="inv-links"><a href=${api.customers.pdfUrl(inv.id)} target="_blank" rel="noopener">PDF</a>
      <a href=${api.customers.printUrl(inv.id)} target="_blank" rel="noopener">Print</a>
      ${inv.kind === 'proforma' && inv.status === 'issued' ? html`<button type="button" class="btn btn-small" disabled=${busy} onClick=${finalize}>Mark paid → invoice</button>` : null}
      <${ErrorBox} error=${error} /></td>
  </tr>`;
}

export function CustomerPage({ id }) {
  const { refs } = useApp();
  const [state, reload] = useLoader(() => api.customers.read(id), [id]);
  const [notice, setNotice] = useState('');
  const c = state.data;
  if (state.loading && !c) return html`<section class="page"><${Spinner} /></section>`;
  if (!c) return html`<section class="page"><p><${Link} href="/customers">← Customers<//></p>
    <${ErrorBox} error=${state.error && state.error.status === 404 ? 'This customer does not exist or is not yours to see.' : state.error} /></section>`;
  return html`<section class="page customer-page">
    <p class="crumbs"><${Link} href="/customers">← Customers<//></p>
    <div class="page-head"><div><h1>${c.full_name}</h1>
      <p class="sub">${c.company ? c.company + ' · ' : ''}<span class=${'badge ' + (c.active ? 'badge-open' : 'badge-paused')}>${c.active ? 'Active' : 'Inactive'}</span>
        <span class="muted"> · customer since ${fmtDateTime(c.created_at)} · balance ${money(c.balance_cents, c.currency)}</span></p></div></div>
    <${Notice} text=${notice} />
    <div class="lead-grid"><div class="lead-main">
      <section class="card" aria-labelledby="svc-h"><h2 id="svc-h">Services</h2>
        ${c.services.length ? html`<table class="lines-table view services-table"><thead><tr><th scope="col">Service</th><th scope="col" class="n">Qty</th><th scope="col" class="n">Unit price</th>
          <th scope="col">Period</th><th scope="col" class="n">Tax</th><th scope="col">Starts</th></tr></thead>
          <tbody>${c.services.map((s) => html`<tr><td>${s.description}</td><td class="n">${s.quantity}</td><td class="n">${money(s.unit_price_cents, c.currency)}</td>
            <td>${s.period === 'monthly' ? 'Monthly' : 'One-time'}</td><td class="n">${s.tax_rate}%</td><td>${s.start_date}</td></tr>`)}</tbody></table>`
          : html`<p class="empty">No services.</p>`}
      </section>
      <section class="card" aria-labelledby="inv-h"><h2 id="inv-h">Invoices</h2>
        ${c.invoices.length ? html`<table class="lines-table view invoices-table"><thead><tr><th scope="col">Number</th><th scope="col">Kind</th><th scope="col">Status</th>
          <th scope="col">Issued</th><th scope="col" class="n">Total</th><th scope="col"><span class="sr-only">Documents</span></th></tr></thead>
          <tbody>${c.invoices.map((inv) => html`<${InvoiceRow} key=${inv.id + ':' + inv.version} inv=${inv} onChanged=${reload} setNotice=${setNotice} />`)}</tbody></table>`
          : html`<p class="empty">No invoices.</p>`}
      </section>
      <${TicketsCard} owner=${{ customer: c.id }} defaultRequester=${c.full_name + (c.emails[0] ? ` <${c.emails[0]}>` : '')} />
    </div><div class="lead-side">
      <section class="card" aria-labelledby="cd-h"><h2 id="cd-h">Details</h2>
        <dl class="kv">
          <dt>E-mails</dt><dd>${c.emails.join(', ') || '—'}</dd>
          <dt>Phones</dt><dd>${c.phones.join(', ') || '—'}</dd>
          <dt>Portal login</dt><dd>${c.login || '—'}</dd>
          <dt>Owner</dt><dd>${nameOf(refs.users, c.owner_id, '—')}</dd>
          <dt>Partner</dt><dd>${nameOf(refs.partners, c.partner_id, '—')}</dd>
          <dt>Location</dt><dd>${nameOf(refs.locations, c.location_id, '—')}</dd>
          <dt>Place</dt><dd>${[c.city, c.region, c.country].filter(Boolean).join(', ') || '—'}</dd>
          <dt>Consent</dt><dd>${c.email_opt_out ? 'No e-mail' : 'E-mail ok'} · ${c.sms_opt_out ? 'no SMS' : 'SMS ok'}</dd>
        </dl>
        ${c.lead_id ? html`<p class="history-link"><${Link} href=${`/leads/${c.lead_id}`}>The lead's history (timeline, quotes, conversations) →<//></p>` : null}
      </section>
    </div></div>
  </section>`;
}
