// api/reports.js — the reports: /reports/outcomes and /reports/lost-reasons (JSON, or the same
// as a CSV download at csvUrl).
import { get, apiUrl } from './client.js';

export const outcomes = (params) => get('/reports/outcomes', params);
export const lostReasons = (params) => get('/reports/lost-reasons', params);
// kind: 'outcomes' | 'lost-reasons'; a link the browser downloads with the session cookie.
export const csvUrl = (kind, params) => apiUrl('/reports/' + kind, { ...params, format: 'csv' });
