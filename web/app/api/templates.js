// api/templates.js — message templates (/templates): {id, name, channel: email|sms|chat,
// kind: message|close_notification|review_request, subject, body, active}. Managers and admins
// create and change them; a 422 names an unknown placeholder ({{lead.nmae}}) in fields.subject
// or fields.body.
import { get, post, patch } from './client.js';

export const list = () => get('/templates').then((r) => (r && r.items) || []);
export const create = (tpl) => post('/templates', tpl);
export const update = (id, changes) => patch(`/templates/${id}`, changes);
