// api/dashboard.js — the caller's figures: /dashboard.
import { get } from './client.js';

export const load = () => get('/dashboard');
