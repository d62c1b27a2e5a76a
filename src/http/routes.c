/* routes.c — the route table: method, path pattern, handler, flags (R_* in http.h: public, JSON
 * body, Idempotency-Key, long read, search), metrics name. The first route that matches wins. */
#include "http/routes/handlers.h"

#define LIST(path, name)                                                        \
  {"GET", "/api/v1/" path, h_list_all, 0, name ".list"},                       \
  {"POST", "/api/v1/" path, h_list_create, R_BODY | R_IDEM, name ".create"},   \
  {"GET", "/api/v1/" path "/{key}", h_list_get, 0, name ".get"},               \
  {"PATCH", "/api/v1/" path "/{key}", h_list_patch, R_BODY, name ".patch"}

const lp_route lp_routes[] = {
  {"GET", "/healthz", h_healthz, R_PUBLIC, "healthz"},
  {"GET", "/readyz", h_readyz, R_PUBLIC, "readyz"},
  {"GET", "/metrics", h_metrics, R_PUBLIC, "metrics"},
  {"POST", "/api/v1/auth/login", h_auth_login, R_PUBLIC | R_BODY, "auth.login"},
  {"POST", "/api/v1/auth/logout", h_auth_logout, 0, "auth.logout"},
  {"GET", "/api/v1/me", h_me, 0, "me"},
  {"GET", "/api/v1/leads", h_leads_list, R_LONG | R_SEARCH, "leads.list"},
  {"POST", "/api/v1/leads", h_leads_create, R_BODY | R_IDEM, "leads.create"},
  {"POST", "/api/v1/leads/bulk", h_leads_bulk, R_BODY, "leads.bulk"},
  {"GET", "/api/v1/leads/{id}", h_lead_get, 0, "leads.get"},
  {"PATCH", "/api/v1/leads/{id}", h_lead_patch, R_BODY, "leads.patch"},
  {"DELETE", "/api/v1/leads/{id}", h_lead_delete, 0, "leads.delete"},
  {"POST", "/api/v1/leads/{id}/close", h_lead_close, R_BODY, "leads.close"},
  {"POST", "/api/v1/leads/{id}/reopen", h_lead_reopen, R_BODY, "leads.reopen"},
  {"GET", "/api/v1/leads/{id}/transitions", h_lead_transitions, 0, "leads.transitions"},
  {"GET", "/api/v1/leads/{id}/timeline", h_lead_timeline, R_LONG, "leads.timeline"},
  {"POST", "/api/v1/leads/{id}/comments", h_lead_comment, R_BODY | R_IDEM, "leads.comment"},
  {"POST", "/api/v1/leads/{id}/tasks", h_lead_tasks_create, R_BODY | R_IDEM, "tasks.create"},
  {"GET", "/api/v1/tasks", h_tasks_list, R_LONG, "tasks.list"},
  {"GET", "/api/v1/tasks/{id}", h_task_get, 0, "tasks.get"},
  {"PATCH", "/api/v1/tasks/{id}", h_task_patch, R_BODY, "tasks.patch"},
  {"GET", "/api/v1/dashboard", h_dashboard, R_LONG, "dashboard"},
  {"GET", "/api/v1/events", h_events, R_LONG, "events"},
  {"GET", "/api/v1/settings", h_settings_get, 0, "settings.get"},
  {"PATCH", "/api/v1/settings", h_settings_patch, R_BODY, "settings.patch"},
  {"GET", "/api/v1/users", h_users_list, 0, "users.list"},
  {"POST", "/api/v1/users", h_users_create, R_BODY | R_IDEM, "users.create"},
  {"GET", "/api/v1/users/{id}", h_user_get, 0, "users.get"},
  {"GET", "/api/v1/roles", h_roles_list, 0, "roles.list"},
  {"PATCH", "/api/v1/roles/{id}", h_role_patch, R_BODY, "roles.patch"},
  {"GET", "/api/v1/approvals", h_approvals_list, R_LONG, "approvals.list"},
  {"POST", "/api/v1/approvals/{id}/approve", h_approval_approve, R_BODY, "approvals.approve"},
  {"POST", "/api/v1/approvals/{id}/decline", h_approval_decline, R_BODY, "approvals.decline"},
  {"GET", "/api/v1/tokens", h_tokens_list, 0, "tokens.list"},
  {"POST", "/api/v1/tokens", h_tokens_create, R_BODY | R_IDEM, "tokens.create"},
  {"DELETE", "/api/v1/tokens/{id}", h_token_delete, 0, "tokens.delete"},
  {"GET", "/api/v1/notifications", h_notifications_list, R_LONG, "notifications.list"},
  {"POST", "/api/v1/notifications/read-all", h_notifications_read_all, R_BODY, "notifications.read_all"},
  {"POST", "/api/v1/notifications/{id}/read", h_notification_read, R_BODY, "notifications.read"},
  {"GET", "/api/v1/export/leads", h_export_leads, R_LONG | R_SEARCH, "export.leads"},
  {"POST", "/api/v1/import/leads", h_import_leads, R_RAWBODY | R_IDEM, "import.leads"},
  {"GET", "/api/v1/jobs", h_jobs_list, 0, "jobs.list"},
  {"GET", "/api/v1/jobs/{id}", h_job_get, 0, "jobs.get"},
  {"GET", "/api/v1/webhooks", h_webhooks_list, 0, "webhooks.list"},
  {"POST", "/api/v1/webhooks", h_webhooks_create, R_BODY | R_IDEM, "webhooks.create"},
  {"GET", "/api/v1/webhooks/{id}", h_webhook_get, 0, "webhooks.get"},
  {"PATCH", "/api/v1/webhooks/{id}", h_webhook_patch, R_BODY, "webhooks.patch"},
  {"DELETE", "/api/v1/webhooks/{id}", h_webhook_delete, 0, "webhooks.delete"},
  {"GET", "/api/v1/webhooks/{id}/deliveries", h_webhook_deliveries, 0, "webhooks.deliveries"},
  LIST("stages", "stages"),
  LIST("outcomes", "outcomes"),
  LIST("lost-reasons", "lost_reasons"),
  LIST("sources", "sources"),
  LIST("locations", "locations"),
  LIST("partners", "partners"),
  LIST("groups", "groups"),
};
const int lp_routes_count = sizeof lp_routes / sizeof *lp_routes;
