// api/roles.js — roles and their policies: /roles, /roles/{id}.
import { get, post, patch } from './client.js';

export const list = () => get('/roles').then((r) => (r && r.items) || []);
// -> the new role; copyFrom: a role id whose policy it starts from
export const create = (name, policy, copyFrom) => post('/roles', { name, policy, copy_from: copyFrom || null });
// policy: only the keys that change -> the role
export const update = (id, policy) => patch(`/roles/${id}`, { policy });
