// api/jobs.js — background jobs started by the caller (imports, large bulk actions): /jobs/{id}.
import { get } from './client.js';

export const read = (id) => get(`/jobs/${id}`);
