// api/quotes.js — quotes on a lead and converting the lead into a customer:
// /leads/{id}/quotes, /quotes/{id}, /leads/{id}/convert (with its dry-run preview).
// A quote: {id, version, lead_id, status: new|sent|accepted|declined, currency, lines, subtotal_cents,
// tax_cents, total_cents, one_time_cents, monthly_cents, valid_until, expired}; the server computes
// every figure.
import { request, get, post, patch } from './client.js';

export const list = (leadId) => get(`/leads/${leadId}/quotes`).then((r) => (r && r.items) || []);
export const create = (leadId, body, idem) => post(`/leads/${leadId}/quotes`, body, { idem });
export const update = (id, changes, version) => patch(`/quotes/${id}`, changes, { ifMatch: version });
// Sends the quote to its lead by e-mail with the PDF attached -> {quote, message} (the message queued).
export const send = (id, version, idem) => post(`/quotes/${id}/send`, {}, { ifMatch: version, idem });

// body: {quote_ids, mode: active_invoice|inactive_proforma, services?}
export async function convertPreview(leadId, body, version) {
  const r = await request('POST', `/leads/${leadId}/convert`, { query: { dry_run: 1 }, body, ifMatch: version });
  return (r.data && r.data.plan) || {};
}
// -> {lead, customer, services, invoice} once converted, or {approval} when it waits for an approver (202).
export async function convert(leadId, body, version, idem) {
  const r = await request('POST', `/leads/${leadId}/convert`, { body, ifMatch: version, idem });
  return r.status === 202 ? { approval: (r.data && r.data.approval) || true } : r.data;
}
