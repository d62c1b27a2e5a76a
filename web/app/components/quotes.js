// components/quotes.js — the lead page's Quotes card and the Convert wizard.
// Quotes: each with its lines and the server's figures (subtotal, tax, total; one-time and monthly
// parts), its status and validity; a new quote or a new one's lines are edited in a line editor
// (description, quantity, unit price, one-time or monthly, tax %); "Send by e-mail (PDF)" queues the
// quote to the lead as a PDF (api.quotes.send), "Mark sent", "Accepted", "Declined" move it along as
// the server allows (its 409 or 422 is shown as worded).
// Convert wizard (api.quotes.convert): 1 choose the quotes, 2 choose the kind (an active customer
// with an invoice, or an inactive one with a proforma; "Convert now" may stop there), 3 edit the
// services, 4 confirm with the server's dry-run preview. All figures come from the server.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Dialog, ErrorBox, Spinner, navigate, fieldMessage } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';
import { fmtDate, money, useLoader, useId } from '../util.js';

const PERIODS = [{ value: 'one_time', label: 'One-time' }, { value: 'monthly', label: 'Monthly' }];
const STATUS_LABEL = { new: 'New', sent: 'Sent', accepted: 'Accepted', declined: 'Declined' };

// A line as the editor holds it (prices as typed, in major units) and back.
const toRow = (l) => ({ description: l.description || '', quantity: String(l.quantity ?? 1),
  price: l.unit_price_cents === undefined ? '' : (l.unit_price_cents / 100).toFixed(2), period: l.period || 'one_time',
  tax: l.tax_rate === undefined ? '0' : String(l.tax_rate), start_date: l.start_date || '', quote_id: l.quote_id ?? null });
const fromRow = (r, withStart) => {
  const o = { description: r.description.trim(), quantity: Number(r.quantity), unit_price_cents: Math.round(Number(String(r.price).replace(',', '.')) * 100),
    period: r.period, tax_rate: Number(String(r.tax).replace(',', '.')) };
  if (withStart) { if (r.start_date) o.start_date = r.start_date; if (r.quote_id) o.quote_id = r.quote_id; }
  return o;
};
const EMPTY = { description: '', quantity: '1', price: '', period: 'one_time', tax: '0', start_date: '', quote_id: null };

// The line editor: one row per line; errors are the server's, named lines[i].field.
export function LineEditor({ rows, setRows, errors, prefix = 'lines', withStart = false, label = 'Lines' }) {
  const id = useId('le');
  const set = (i, k, v) => setRows(rows.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  const err = (i, k) => errors && errors[`${prefix}[${i}].${k}`];
  return html`<fieldset class="line-editor"><legend>${label}</legend>
    <table class="lines-table"><thead><tr><th scope="col">Description</th><th scope="col">Qty</th><th scope="col">Unit price</th>
      <th scope="col">Period</th><th scope="col">Tax %</th>${withStart ? html`<th scope="col">Starts</th>` : null}<th><span class="sr-only">Remove</span></th></tr></thead>
    <tbody>${rows.map((r, i) => html`<tr key=${i} class="line-row">
      <td><label class="sr-only" for=${`${id}-d${i}`}>Description of line ${i + 1}</label>
        <input id=${`${id}-d${i}`} name="description" value=${r.description} onInput=${(e) => set(i, 'description', e.currentTarget.value)} aria-invalid=${err(i, 'description') ? 'true' : undefined} />
        ${err(i, 'description') ? html`<p class="field-error">${fieldMessage(err(i, 'description'))}</p>` : null}</td>
      <td><label class="sr-only" for=${`${id}-q${i}`}>Quantity of line ${i + 1}</label>
        <input id=${`${id}-q${i}`} name="quantity" class="num" inputmode="numeric" value=${r.quantity} onInput=${(e) => set(i, 'quantity', e.currentTarget.value)} />
        ${err(i, 'quantity') ? html`<p class="field-error">${fieldMessage(err(i, 'quantity'))}</p>` : null}</td>
      <td><label class="sr-only" for=${`${id}-p${i}`}>Unit price of line ${i + 1}</label>
        <input id=${`${id}-p${i}`} name="price" class="num" inputmode="decimal" placeholder="0.00" value=${r.price} onInput=${(e) => set(i, 'price', e.currentTarget.value)} />
        ${err(i, 'unit_price_cents') ? html`<p class="field-error">${fieldMessage(err(i, 'unit_price_cents'))}</p>` : null}</td>
      <td><label class="sr-only" for=${`${id}-r${i}`}>Period of line ${i + 1}</label>
        <select id=${`${id}-r${i}`} name="period" value=${r.period} onChange=${(e) => set(i, 'period', e.currentTarget.value)}>
          ${PERIODS.map((p) => html`<option value=${p.value} selected=${p.value === r.period}>${p.label}</option>`)}</select></td>
      <td><label class="sr-only" for=${`${id}-t${i}`}>Tax rate of line ${i + 1}</label>
        <input id=${`${id}-t${i}`} name="tax" class="num" inputmode="decimal" value=${r.tax} onInput=${(e) => set(i, 'tax', e.currentTarget.value)} />
        ${err(i, 'tax_rate') ? html`<p class="field-error">${fieldMessage(err(i, 'tax_rate'))}</p>` : null}</td>
      ${withStart ? html`<td><label class="sr-only" for=${`${id}-s${i}`}>Start date of line ${i + 1}</label>
        <input id=${`${id}-s${i}`} name="start_date" type="date" value=${r.start_date} onInput=${(e) => set(i, 'start_date', e.currentTarget.value)} />
        ${err(i, 'start_date') ? html`<p class="field-error">${fieldMessage(err(i, 'start_date'))}</p>` : null}</td>` : null}
      <td><button type="button" class="icon-btn" aria-label=${`Remove line ${i + 1}`} disabled=${rows.length < 2}
        onClick=${() => setRows(rows.filter((_, j) => j !== i))}>✕</button></td>
    </tr>`)}</tbody></table>
    ${errors && errors[prefix] ? html`<p class="field-error">${fieldMessage(errors[prefix])}</p>` : null}
    <button type="button" class="btn btn-small" onClick=${() => setRows([...rows, { ...EMPTY }])}>Add line</button>
  </fieldset>`;
}

function Totals({ q }) {
  return html`<dl class="kv totals">
    <dt>Subtotal</dt><dd>${money(q.subtotal_cents, q.currency)}</dd>
    <dt>Tax</dt><dd>${money(q.tax_cents, q.currency)}</dd>
    <dt>Total</dt><dd><b class="quote-total">${money(q.total_cents, q.currency)}</b></dd>
    ${q.monthly_cents ? html`<dt>Of which monthly</dt><dd>${money(q.monthly_cents, q.currency)} / month</dd>` : null}
  </dl>`;
}

function QuoteView({ q, closed, onChanged }) {
  const [editing, setEditing] = useState(false);
  const [rows, setRows] = useState(q.lines.map(toRow));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const change = async (body) => {
    setBusy(true); setError(null);
    try { await api.quotes.update(q.id, body, q.version); setEditing(false); onChanged(); }
    catch (e) { setError(conflictOr(e, 'quote', 'The card now shows the latest version: try again.')); if (isConflict(e)) onChanged(); }
    setBusy(false);
  };
  const [sentTo, setSentTo] = useState('');
  const send = async () => {
    setBusy(true); setError(null); setSentTo('');
    try { const r = await api.quotes.send(q.id, q.version); setSentTo(r && r.message ? r.message.to : ''); onChanged(); }
    catch (e) { setError(conflictOr(e, 'quote', 'The card now shows the latest version: try again.')); if (isConflict(e)) onChanged(); }
    setBusy(false);
  };
  return html`<li class=${'quote quote-' + q.status} data-quote=${q.id}>
    <div class="quote-head"><h3>Quote #${q.id}</h3>
      <span class=${'badge quote-status-' + q.status}>${STATUS_LABEL[q.status] || q.status}</span>
      <span class="muted">${q.expired ? 'expired ' : 'valid until '}${fmtDate(q.valid_until)}</span></div>
    ${editing ? html`<form onSubmit=${(e) => { e.preventDefault(); change({ lines: rows.map((r) => fromRow(r)) }); }}>
        <${LineEditor} rows=${rows} setRows=${setRows} errors=${error && error.fields} />
        <${ErrorBox} error=${error && !(error.fields && Object.keys(error.fields).length) ? error : null} />
        <div class="actions"><button type="button" class="btn btn-ghost" onClick=${() => { setEditing(false); setRows(q.lines.map(toRow)); }}>Cancel</button>
          <button class="btn btn-primary" type="submit" disabled=${busy}>Save lines</button></div></form>`
    : html`<table class="lines-table view"><thead><tr><th scope="col">Description</th><th scope="col" class="n">Qty</th><th scope="col" class="n">Unit price</th>
        <th scope="col">Period</th><th scope="col" class="n">Tax</th><th scope="col" class="n">Amount</th></tr></thead>
      <tbody>${q.lines.map((l) => html`<tr><td>${l.description}</td><td class="n">${l.quantity}</td><td class="n">${money(l.unit_price_cents, q.currency)}</td>
        <td>${l.period === 'monthly' ? 'Monthly' : 'One-time'}</td><td class="n">${l.tax_rate}%</td><td class="n">${money(l.subtotal_cents, q.currency)}</td></tr>`)}</tbody></table>
      <${Totals} q=${q} />
      ${!editing ? html`<${ErrorBox} error=${error} />` : null}
      ${sentTo ? html`<p class="notice notice-ok" role="status">Queued to ${sentTo} with the quote as a PDF; the Conversations card shows its delivery.</p>` : null}
      ${closed ? null : html`<div class="actions quote-actions">
        ${q.status === 'new' ? html`<button type="button" class="btn btn-small" onClick=${() => setEditing(true)}>Edit lines</button>
          <button type="button" class="btn btn-small btn-primary" disabled=${busy || q.expired} onClick=${send}>Send by e-mail (PDF)</button>
          <button type="button" class="btn btn-small" disabled=${busy} onClick=${() => change({ status: 'sent' })}>Mark sent</button>` : null}
        ${q.status === 'sent' && !q.expired ? html`<button type="button" class="btn btn-small" disabled=${busy} onClick=${send}>Send again</button>` : null}
        ${q.status === 'sent' ? html`<button type="button" class="btn btn-small btn-primary" disabled=${busy} onClick=${() => change({ status: 'accepted' })}>Accepted</button>
          <button type="button" class="btn btn-small" disabled=${busy} onClick=${() => change({ status: 'declined' })}>Declined</button>` : null}
      </div>`}`}
  </li>`;
}

export function Quotes({ lead, quotes, reload, onChanged }) {
  const [adding, setAdding] = useState(false);
  const [rows, setRows] = useState([{ ...EMPTY }]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const closed = lead.status === 'closed';
  const list = quotes.data || [];
  const changed = () => { reload(); onChanged(); };
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try { await api.quotes.create(lead.id, { lines: rows.map((r) => fromRow(r)) }); setAdding(false); setRows([{ ...EMPTY }]); changed(); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  return html`<section class="card quotes-card" aria-labelledby="quotes-h">
    <div class="card-head"><h2 id="quotes-h">Quotes</h2>
      ${!closed && !adding ? html`<button type="button" class="btn btn-small" onClick=${() => setAdding(true)}>New quote</button>` : null}</div>
    <${ErrorBox} error=${quotes.error} />
    ${adding ? html`<form class="quote-form" onSubmit=${submit} aria-label="New quote">
      <${LineEditor} rows=${rows} setRows=${setRows} errors=${error && error.fields} />
      <${ErrorBox} error=${error && !(error.fields && Object.keys(error.fields).length) ? error : null} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${() => { setAdding(false); setError(null); }}>Cancel</button>
        <button class="btn btn-primary" type="submit" disabled=${busy}>Save quote</button></div></form>` : null}
    ${quotes.loading && !quotes.data ? html`<${Spinner} />` : list.length ? html`<ul class="quotes plain">${list.map((q) => html`<${QuoteView} key=${q.id + ':' + q.version} q=${q} closed=${closed} onChanged=${changed} />`)}</ul>`
      : !adding ? html`<p class="empty">No quotes yet.</p>` : null}
  </section>`;
}

// ---------- the Convert wizard ----------
const STEPS = ['Quotes', 'Kind', 'Services', 'Confirm'];

export function ConvertWizard({ open, lead, quotes, onClose, onDone }) {
  const usable = (quotes || []).filter((q) => q.status !== 'declined');
  const [step, setStep] = useState(0);
  const [chosen, setChosen] = useState([]);
  const [mode, setMode] = useState('active_invoice');
  const [rows, setRows] = useState([]);
  const [edited, setEdited] = useState(false);   // step 3 was visited: send the services as edited
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!open) return;
    setStep(0); setError(null); setPreview(null); setEdited(false); setMode('active_invoice');
    setChosen(usable.filter((q) => q.status === 'accepted').map((q) => q.id).concat(usable.some((q) => q.status === 'accepted') ? [] : usable.slice(-1).map((q) => q.id)));
  }, [open]);
  const body = () => ({ quote_ids: chosen, mode, ...(edited ? { services: rows.map((r) => fromRow(r, true)) } : {}) });
  const toServices = () => {
    const rs = [];
    for (const q of usable) if (chosen.includes(q.id)) for (const l of q.lines) rs.push({ ...toRow(l), quote_id: q.id });
    setRows(rs.length ? rs : [{ ...EMPTY }]);
    setEdited(true);
    setStep(2);
  };
  const toConfirm = async (withServices) => {
    setBusy(true); setError(null);
    try {
      setPreview(await api.quotes.convertPreview(lead.id, withServices ? { ...body() } : { quote_ids: chosen, mode }, lead.version));
      if (!withServices) setEdited(false);
      setStep(3);
    } catch (e) { setError(conflictOr(e, 'lead', 'Close the wizard; the page will show the latest version.')); }
    setBusy(false);
  };
  const convert = async () => {
    setBusy(true); setError(null);
    try {
      const r = await api.quotes.convert(lead.id, body(), lead.version);
      onDone(r);
      if (r && r.customer) navigate(`/customers/${r.customer.id}`);
    } catch (e) { setError(conflictOr(e, 'lead', 'Close the wizard; the page will show the latest version.')); }
    setBusy(false);
  };
  const inv = preview && preview.invoice;
  return html`<${Dialog} open=${open} title="Convert to customer" onClose=${onClose} wide>
    <ol class="wizard-steps">${STEPS.map((s, i) => html`<li class=${i === step ? 'current' : i < step ? 'done' : ''} aria-current=${i === step ? 'step' : undefined}>${i + 1}. ${s}</li>`)}</ol>
    ${step === 0 ? html`<fieldset class="wizard-quotes"><legend>Which quotes become the customer's services?</legend>
        ${usable.length ? usable.map((q) => html`<label class="check"><input type="checkbox" checked=${chosen.includes(q.id)}
          onChange=${(e) => setChosen(e.currentTarget.checked ? [...chosen, q.id] : chosen.filter((x) => x !== q.id))} />
          Quote #${q.id} · ${STATUS_LABEL[q.status]} · ${money(q.total_cents, q.currency)} (${q.lines.length} line${q.lines.length === 1 ? '' : 's'})</label>`)
          : html`<p class="empty">This lead has no quotes to convert; add the services in step 3.</p>`}
      </fieldset>
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button type="button" class="btn btn-primary" onClick=${() => setStep(1)}>Next</button></div>` : null}
    ${step === 1 ? html`<fieldset class="wizard-kind"><legend>What kind of customer?</legend>
        <label class="check"><input type="radio" name="cv-mode" checked=${mode === 'active_invoice'} onChange=${() => setMode('active_invoice')} />
          Active customer with an invoice (owed at once)</label>
        <label class="check"><input type="radio" name="cv-mode" checked=${mode === 'inactive_proforma'} onChange=${() => setMode('inactive_proforma')} />
          Inactive customer with a proforma invoice (no balance change until it is paid)</label>
      </fieldset>
      <${ErrorBox} error=${error} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${() => setStep(0)}>Back</button>
        <button type="button" class="btn" disabled=${busy || !chosen.length} onClick=${() => toConfirm(false)}>Convert now…</button>
        <button type="button" class="btn btn-primary" onClick=${toServices}>Edit services</button></div>` : null}
    ${step === 2 ? html`<form onSubmit=${(e) => { e.preventDefault(); toConfirm(true); }}>
        <${LineEditor} rows=${rows} setRows=${setRows} errors=${error && error.fields} prefix="services" withStart label="Services" />
        <${ErrorBox} error=${error && !(error.fields && Object.keys(error.fields).some((k) => k.startsWith('services['))) ? error : null} />
        <div class="actions"><button type="button" class="btn btn-ghost" onClick=${() => setStep(1)}>Back</button>
          <button class="btn btn-primary" type="submit" disabled=${busy}>Review</button></div></form>` : null}
    ${step === 3 && preview ? html`<div class="convert-preview">
        <p>${preview.customer.full_name}${preview.customer.company ? ` (${preview.customer.company})` : ''} becomes
          ${preview.customer.active ? 'an active' : 'an inactive'} customer; the lead closes as converted.</p>
        <table class="lines-table view"><thead><tr><th scope="col">Service</th><th scope="col" class="n">Qty</th><th scope="col">Period</th><th scope="col">Starts</th><th scope="col" class="n">Amount</th></tr></thead>
          <tbody>${preview.services.map((s) => html`<tr><td>${s.description}</td><td class="n">${s.quantity}</td><td>${s.period === 'monthly' ? 'Monthly' : 'One-time'}</td>
            <td>${s.start_date}</td><td class="n">${money(s.subtotal_cents, inv.currency)}</td></tr>`)}</tbody></table>
        <p class="preview-invoice">${inv.kind === 'proforma' ? 'Proforma' : 'Invoice'} <b>${inv.number_preview}</b> (number given on confirming):
          total <b>${money(inv.total_cents, inv.currency)}</b> incl. ${money(inv.tax_cents, inv.currency)} tax.</p>
        ${preview.approval_required ? html`<p class="notice">Your role needs approval to convert: confirming sends the request to your approver.</p>` : null}
        <${ErrorBox} error=${error} />
        <div class="actions"><button type="button" class="btn btn-ghost" onClick=${() => setStep(edited ? 2 : 1)}>Back</button>
          <button type="button" class="btn btn-primary" disabled=${busy} onClick=${convert}>${preview.approval_required ? 'Ask for approval' : 'Convert'}</button></div>
      </div>` : null}
  <//>`;
}

// The quotes of a lead, for the page (reload after every change).
export const useQuotes = (leadId) => useLoader(() => api.quotes.list(leadId), [leadId]);
