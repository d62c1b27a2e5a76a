// api/forms.js — web forms (admins): /forms, /forms/{id}, and each form's embeddable HTML
// (/forms/{id}/snippet). The lead fields a form may ask for come from /meta (form_fields).
import { get, post, patch, del } from './client.js';

export const list = () => get('/forms');
export const create = (form) => post('/forms', form);
export const update = (id, changes, version) => patch(`/forms/${id}`, changes, { ifMatch: version });
export const remove = (id, version) => del(`/forms/${id}`, { ifMatch: version });
// -> {html, action, form_id}: the <form> to paste into the company's page
export const snippet = (id) => get(`/forms/${id}/snippet`);
