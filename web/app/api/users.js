// api/users.js — the team: /users, /users/{id} (PATCH with If-Match), /users/{id}/deactivate
// (?dry_run=1: what would move), /users/{id}/reactivate.
import { get, post, patch, getAll } from './client.js';

export const all = () => getAll('/users');
// user: {email, name, role, manager_id, password} -> the new user
export const create = (user, idem) => post('/users', user, { idem });
// changes: any of name, email, role, manager_id, password -> the user
export const update = (id, changes, version) => patch(`/users/${id}`, changes, { ifMatch: version });
// -> {open_leads, open_tasks, reports, pending_approvals, sessions}, changing nothing
export const leaving = (id) => post(`/users/${id}/deactivate`, {}, { query: { dry_run: 1 } }).then((r) => r.moves);
// -> {user, moved}; reassignTo takes their open leads and tasks
export const deactivate = (id, reassignTo) => post(`/users/${id}/deactivate`, { reassign_to: reassignTo || null });
export const reactivate = (id) => post(`/users/${id}/reactivate`, {});
