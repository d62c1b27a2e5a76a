// api/tickets.js — support tickets: a lead's (/leads/{id}/tickets) and a customer's
// (/customers/{id}/tickets), all tickets the caller may see (/tickets?status=&q=&assignee=&priority=),
// one ticket with its comments (/tickets/{id}), changes with If-Match, comments.
// A ticket: {id, version, lead_id, customer_id, lead_name, customer_name, subject, body,
// priority: low|normal|high|urgent, status: open|closed, requester, assignee_id, assignee_name,
// comment_count, created_at, closed_at, comments (one ticket only)}.
import { get, post, patch } from './client.js';

const itemsOf = (r) => (r && r.items) || [];
export const ofLead = (leadId) => get(`/leads/${leadId}/tickets`).then(itemsOf);
export const ofCustomer = (customerId) => get(`/customers/${customerId}/tickets`).then(itemsOf);
export const list = (query) => get('/tickets', query);
export const read = (id) => get(`/tickets/${id}`);
// owner: {lead: id} or {customer: id}
export const create = (owner, body, idem) =>
  post(owner.customer ? `/customers/${owner.customer}/tickets` : `/leads/${owner.lead}/tickets`, body, { idem });
export const update = (id, changes, version) => patch(`/tickets/${id}`, changes, { ifMatch: version });
export const comment = (id, body, idem) => post(`/tickets/${id}/comments`, { body }, { idem });
