// api/leads.js — leads and what hangs off one lead: list, read, create, change, delete, close
// (with its dry-run preview), reopen, transitions, timeline, comments, bulk actions, CSV
// export. /leads, /leads/{id}/..., /leads/bulk, /export/leads (imports: imports.js).
import { request, get, post, patch, del, getAll, apiUrl } from './client.js';

// query: the API's list filters (status, owner, stage, ..., q, sort, cursor, limit, total)
export const list = (query) => get('/leads', query);
export const read = (id) => get(`/leads/${id}`);
export const create = (lead, idem) => post('/leads', lead, { idem });
export const update = (id, changes, version) => patch(`/leads/${id}`, changes, { ifMatch: version });
export const remove = (id, version) => del(`/leads/${id}`, { ifMatch: version });

// The plan a close would carry out, changing nothing.
export async function closePreview(id, body, version) {
  const r = await request('POST', `/leads/${id}/close`, { query: { dry_run: 1 }, body, ifMatch: version });
  return (r.data && (r.data.plan || r.data)) || {};
}
// -> {lead} once closed, or {approval: true} when the close waits for an approver (202).
export async function close(id, body, version) {
  const r = await request('POST', `/leads/${id}/close`, { body, ifMatch: version });
  if (r.status === 202) return { approval: true };
  return { lead: r.data && r.data.id ? r.data : r.data && r.data.lead };
}
export const reopen = (id, notes, version) => post(`/leads/${id}/reopen`, { notes: notes || undefined }, { ifMatch: version });

export const transitions = (id) => get(`/leads/${id}/transitions`).then((r) => r.items || []);
// Every page of the timeline, in the server's order.
export const timeline = (id) => getAll(`/leads/${id}/timeline`);
export const comment = (id, { body, icon, color }) => post(`/leads/${id}/comments`, { body, icon, color });

// -> {status, data}: 200 with {succeeded, failed, results}, or 202 (a job, or an approval).
export const bulk = (ids, action, params) => request('POST', '/leads/bulk', { body: { ids, action, params } });
// The preview of a bulk close, changing nothing: {total, will_close, needs_approval, refused, refusals,
// tasks_completed, tasks_cancelled, follow_ups, groups, messages, notifications, items}.
export const bulkClosePreview = (ids, params) => post('/leads/bulk', { ids, action: 'close', params }, { query: { dry_run: 1 } });

// The pipeline board: query {owner, source, q, limit} -> {columns: [{stage_id, name, count, value_cents,
// values, items, next_cursor}], counted}. A column's next cards: list({status: 'open', stage, cursor, ...}).
export const board = (query) => get('/leads/board', query);

// The address of the CSV of every lead matching the filters (the session cookie authenticates it).
export const exportUrl = (filters) => apiUrl('/export/leads', { ...filters, format: 'csv' });
// Imports: api/imports.js.

// Related leads, duplicates, merge (docs/merge.md).
// -> {lead_id, items: [{id, full_name, status, stage_name, outcome, owner_name, created_at, closed_at, matched}], customers, truncated}
export const related = (id) => get(`/leads/${id}/related`);
// A create that refuses (409, err.body.duplicates) when an open lead has the same e-mail or phone.
export const createChecked = (lead, idem) => post('/leads', lead, { idem, query: { check_duplicates: 1 } });
// body {other_ids, fields: {field: lead id}, versions}; the plan (dry run) or {lead, merged_ids, moved}.
export async function mergePreview(id, body, version) {
  const r = await request('POST', `/leads/${id}/merge`, { query: { dry_run: 1 }, body, ifMatch: version });
  return (r.data && r.data.plan) || {};
}
export const merge = (id, body, version) => post(`/leads/${id}/merge`, body, { ifMatch: version });
