// api/approvals.js — requests waiting for a decision: /approvals, /approvals/{id}/approve|decline.
import { get, post } from './client.js';

export const pending = () => get('/approvals', { status: 'pending', limit: 50 });
export const approve = (id) => post(`/approvals/${id}/approve`, {});
export const decline = (id, note) => post(`/approvals/${id}/decline`, { note });
