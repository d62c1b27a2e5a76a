// api/scoring.js — lead scoring: the rules (everyone reads, admins save with If-Match), the win
// model in use, and a run that retrains it now (a job).
import { get, put, post } from './client.js';

export const rules = () => get('/scoring/rules');
export const saveRules = (rules, version) => put('/scoring/rules', rules, { ifMatch: version });
export const model = () => get('/scoring/model');
// -> {job_id, status}
export const run = () => post('/scoring/run');
