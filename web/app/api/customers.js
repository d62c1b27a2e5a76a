// api/customers.js — customers and their invoices: /customers (search with q), /customers/{id}
// (with services and invoices), /invoices/{id} (JSON), its PDF (/invoices/{id}.pdf) and printable
// page (/invoices/{id}/print) as links, and finalizing a paid proforma.
import { get, post, patch, apiUrl } from './client.js';

export const list = (query) => get('/customers', query);
export const read = (id) => get(`/customers/${id}`);
export const update = (id, changes, version) => patch(`/customers/${id}`, changes, { ifMatch: version });
export const invoice = (id) => get(`/invoices/${id}`);
export const finalize = (id, version, paidAt) => post(`/invoices/${id}/finalize`, paidAt ? { paid_at: paidAt } : {}, { ifMatch: version });
export const pdfUrl = (id) => apiUrl(`/invoices/${id}.pdf`);
export const printUrl = (id) => apiUrl(`/invoices/${id}/print`);
