// api/users.js — the team: /users.
import { getAll } from './client.js';

export const all = () => getAll('/users');
