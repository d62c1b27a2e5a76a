/* handlers.h — every route handler, one file per resource under src/http/routes/. */
#ifndef LP_HTTP_HANDLERS_H
#define LP_HTTP_HANDLERS_H
#include "http/http.h"
#include "jobs/jobs.h"
lp_code h_auth_login(lp_req *r);
lp_code h_auth_logout(lp_req *r);
lp_code h_me(lp_req *r);
lp_code h_healthz(lp_req *r);
lp_code h_readyz(lp_req *r);
lp_code h_metrics(lp_req *r);
lp_code h_leads_list(lp_req *r);
lp_code h_leads_board(lp_req *r);
lp_code h_leads_create(lp_req *r);
lp_code h_lead_get(lp_req *r);
lp_code h_lead_patch(lp_req *r);
lp_code h_lead_delete(lp_req *r);
lp_code h_lead_close(lp_req *r);
lp_code h_lead_reopen(lp_req *r);
lp_code h_lead_transitions(lp_req *r);
lp_code h_lead_timeline(lp_req *r);
/* related.c: related leads, duplicates, merge */
lp_code h_lead_related(lp_req *r);
lp_code h_lead_merge(lp_req *r);
/* With ?check_duplicates=1: 1 when an open lead shares an address of cols and the 409 answer is
 * made (*rc is the handler's code), 0 to go on with the create. */
int lp_duplicates_refuse(lp_req *r, json_t *cols, lp_code *rc);
/* conversations.c */
lp_code h_lead_threads(lp_req *r);
lp_code h_thread_messages(lp_req *r);
lp_code h_lead_message_send(lp_req *r);
lp_code h_lead_review_request(lp_req *r);
lp_code h_thread_close(lp_req *r);
lp_code h_templates_list(lp_req *r);
lp_code h_templates_create(lp_req *r);
lp_code h_template_patch(lp_req *r);
lp_code h_inbound_email(lp_req *r);
lp_code h_inbound_sms(lp_req *r);
lp_code h_inbound_sms_provider(lp_req *r);
lp_code h_inbound_sms_status(lp_req *r);
lp_code h_lead_comment(lp_req *r);
/* billing.c: quotes, conversion, customers, invoices */
lp_code h_lead_quotes_list(lp_req *r);
lp_code h_lead_quotes_create(lp_req *r);
lp_code h_quote_get(lp_req *r);
lp_code h_quote_patch(lp_req *r);
lp_code h_lead_convert(lp_req *r);
lp_code h_invoice_get(lp_req *r);
lp_code h_invoice_pdf(lp_req *r);
lp_code h_invoice_print(lp_req *r);
lp_code h_invoice_finalize(lp_req *r);
lp_code h_customers_list(lp_req *r);
lp_code h_customer_get(lp_req *r);
lp_code h_customer_patch(lp_req *r);
/* tickets.c: support tickets; quotemail.c: a quote sent by e-mail as a PDF */
lp_code h_lead_tickets_list(lp_req *r);
lp_code h_lead_tickets_create(lp_req *r);
lp_code h_customer_tickets_list(lp_req *r);
lp_code h_customer_tickets_create(lp_req *r);
lp_code h_tickets_list(lp_req *r);
lp_code h_ticket_get(lp_req *r);
lp_code h_ticket_patch(lp_req *r);
lp_code h_ticket_comment(lp_req *r);
lp_code h_quote_send(lp_req *r);
lp_code h_lead_tasks_create(lp_req *r);
lp_code h_tasks_list(lp_req *r);
lp_code h_task_get(lp_req *r);
lp_code h_task_patch(lp_req *r);
lp_code h_dashboard(lp_req *r);
lp_code h_events(lp_req *r);
lp_code h_stream(lp_req *r);   /* src/http/stream.c */
lp_code h_settings_get(lp_req *r);
lp_code h_settings_patch(lp_req *r);
lp_code h_users_list(lp_req *r);
lp_code h_users_create(lp_req *r);
lp_code h_user_get(lp_req *r);
lp_code h_roles_list(lp_req *r);
lp_code h_meta(lp_req *r);
lp_code h_role_patch(lp_req *r);
/* Running the team (routes/people.c). */
lp_code h_user_patch(lp_req *r);
lp_code h_user_deactivate(lp_req *r);
lp_code h_user_reactivate(lp_req *r);
lp_code h_roles_create(lp_req *r);
lp_code h_role_get(lp_req *r);
/* Configurable lists: one handler set, the list chosen by the URL. */
lp_code h_list_all(lp_req *r);
lp_code h_list_create(lp_req *r);
lp_code h_list_get(lp_req *r);
lp_code h_list_patch(lp_req *r);
lp_code h_tokens_create(lp_req *r);
lp_code h_tokens_list(lp_req *r);
lp_code h_token_delete(lp_req *r);
lp_code h_notifications_list(lp_req *r);
lp_code h_notification_read(lp_req *r);
lp_code h_notifications_read_all(lp_req *r);
lp_code h_leads_bulk(lp_req *r);
lp_code h_approvals_list(lp_req *r);
lp_code h_approval_approve(lp_req *r);
lp_code h_approval_decline(lp_req *r);
lp_code h_export_leads(lp_req *r);
/* reports.c */
lp_code h_report_outcomes(lp_req *r);
lp_code h_report_lost_reasons(lp_req *r);
/* import.c: CSV files streamed to the spool directory; importjob.c: the job */
lp_code h_import_begin(lp_req *r);
lp_code h_import_leads(lp_req *r);
lp_code h_import_upload(lp_req *r);
lp_code h_import_upload_get(lp_req *r);
lp_code h_import_upload_delete(lp_req *r);
lp_code h_import_upload_start(lp_req *r);
lp_code h_job_get(lp_req *r);
lp_code h_jobs_list(lp_req *r);
lp_code h_webhooks_list(lp_req *r);
lp_code h_webhooks_create(lp_req *r);
lp_code h_webhook_get(lp_req *r);
lp_code h_webhook_patch(lp_req *r);
lp_code h_webhook_delete(lp_req *r);
lp_code h_webhook_deliveries(lp_req *r);
/* The public web chat and its widget (routes/chat.c). */
lp_code h_public_preflight(lp_req *r);
lp_code h_public_chat_start(lp_req *r);
lp_code h_public_chat_messages(lp_req *r);
lp_code h_public_chat_post(lp_req *r);
lp_code h_public_chat_close(lp_req *r);
/* Web forms and the customer portal (routes/forms.c). */
lp_code h_forms_list(lp_req *r);
lp_code h_forms_create(lp_req *r);
lp_code h_form_get(lp_req *r);
lp_code h_form_patch(lp_req *r);
lp_code h_form_delete(lp_req *r);
lp_code h_form_snippet(lp_req *r);
lp_code h_public_form_submit(lp_req *r);
lp_code h_portal_session(lp_req *r);
lp_code h_public_widget(lp_req *r);
/* Shared by handlers (routes/jobs.c): starts a background job of `kind` as the caller and answers
 * 202 `answer` + {job_id, status: "queued"} with Location (answer is stolen); the contract's
 * error object of an lp_err, for per-item results. */
lp_code lp_reply_job(lp_req *r, const char *kind, json_t *payload, int total, json_t *answer);
json_t *lp_error_json(const lp_err *e);
/* For a job's handler: a read connection, and the user who started the job as they are now (a
 * user deactivated or whose rights changed meanwhile gets what they may do now). LP_OK, or the
 * code to return (LP_EUNAVAILABLE: try again later). */
lp_code lp_job_actor(lp_store *s, const lp_job *job, lp_db **db, lp_actor *a, lp_err *err);
/* Job kinds run by the code of their routes (listed in src/app/jobkinds.c): bulk actions over
 * many leads (bulk.c) and imports (import.c). */
lp_code lp_job_bulk(lp_store *s, lp_job *job, int64_t now, lp_err *err);
lp_code lp_job_import(lp_store *s, lp_job *job, int64_t now, lp_err *err);
/* Shared by handlers: adapts lp_req_query for the store's list functions. */
const char *lp_req_param_fn(void *ctx, const char *name);
#endif
