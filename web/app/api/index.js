// api/index.js — every API resource the UI uses, one module each; screens import from here:
//   import * as api from '../api/index.js';   api.leads.update(id, changes, version)
// Only these modules know paths; only client.js calls fetch(). A new resource gets a new module
// and a line below — e.g. reports.js, customers.js.
export * as auth from './auth.js';
export * as leads from './leads.js';
export * as tasks from './tasks.js';
export * as lists from './lists.js';
export * as users from './users.js';
export * as roles from './roles.js';
export * as settings from './settings.js';
export * as meta from './meta.js';
export * as dashboard from './dashboard.js';
export * as approvals from './approvals.js';
export * as notifications from './notifications.js';
export * as webhooks from './webhooks.js';
export * as jobs from './jobs.js';
export * as imports from './imports.js';
export * as conversations from './conversations.js';
export * as templates from './templates.js';
export * as forms from './forms.js';
export * as quotes from './quotes.js';
export * as customers from './customers.js';
export * as tickets from './tickets.js';
export * as reports from './reports.js';
export * as scoring from './scoring.js';
