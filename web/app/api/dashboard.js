// api/dashboard.js — the caller's (or its team's) figures and task lists: /dashboard?scope=mine|team.
import { get } from './client.js';

export const load = (scope = 'mine') => get('/dashboard', { scope });
