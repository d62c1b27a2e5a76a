// api/tasks.js — tasks and follow-ups: /tasks, /tasks/{id}, /leads/{id}/tasks.
import { get, post, patch, getAll } from './client.js';

// query: assignee (me|any|id), status (open|done|cancelled|all), due_from, due_to, lead, limit
export const list = (query) => get('/tasks', query);
export const listAll = (query) => getAll('/tasks', query);
export const create = (leadId, task, idem) => post(`/leads/${leadId}/tasks`, task, { idem });
export const update = (id, changes, version) => patch(`/tasks/${id}`, changes, { ifMatch: version });
