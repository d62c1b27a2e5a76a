// api/reports.js — the reports: /reports/outcomes (with ?interval= its trend), /reports/lost-reasons,
// and the flow reports /reports/aging, /reports/funnel, /reports/win-back (JSON, or the same as a
// CSV download at csvUrl).
import { get, apiUrl } from './client.js';

export const outcomes = (params) => get('/reports/outcomes', params);
export const lostReasons = (params) => get('/reports/lost-reasons', params);
export const aging = (params) => get('/reports/aging', params);
export const funnel = (params) => get('/reports/funnel', params);
export const winBack = (params) => get('/reports/win-back', params);
// kind: 'outcomes' | 'lost-reasons' | 'aging' | 'funnel' | 'win-back'; a link the browser
// downloads with the session cookie.
export const csvUrl = (kind, params) => apiUrl('/reports/' + kind, { ...params, format: 'csv' });
