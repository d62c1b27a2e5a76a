// api/webhooks.js — outgoing webhooks and their deliveries (admins): /webhooks,
// /webhooks/{id}, /webhooks/{id}/deliveries.
import { get, post, patch, del } from './client.js';

export const list = () => get('/webhooks');
// -> the webhook, with its signing secret (shown this once)
export const create = (hook) => post('/webhooks', hook);
export const update = (id, changes, version) => patch(`/webhooks/${id}`, changes, { ifMatch: version });
export const remove = (id, version) => del(`/webhooks/${id}`, { ifMatch: version });
export const deliveries = (id) => get(`/webhooks/${id}/deliveries`);
