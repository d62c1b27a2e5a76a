// api/approvals.js — requests waiting for a decision and decided: /approvals (?status, ?lead, ?mine),
// /approvals/{id}/approve|decline. Each item names the lead, the requester, the outcome and reason
// in words and carries the lead's open tasks (see api/openapi.yaml).
import { get, post } from './client.js';

export const list = ({ status = 'pending', lead, mine } = {}) => get('/approvals', { status, lead, mine: mine ? 1 : undefined })
  .then((r) => (r && r.items) || []);
export const pending = () => get('/approvals', { status: 'pending', limit: 50 });
export const approve = (id) => post(`/approvals/${id}/approve`, {});
export const decline = (id, note) => post(`/approvals/${id}/decline`, { note: note || null });
