// api/conversations.js — talking to a lead: its threads (/leads/{id}/threads), a thread's
// messages (/threads/{id}/messages), sending (/leads/{id}/messages, answered 202 with the queued
// message), closing one engagement (/threads/{id}/close) and asking for a review
// (/leads/{id}/review-request). Templates are in templates.js.
import { get, post, apiUrl } from './client.js';

// The kinds of event that change what the Conversations card shows.
export const LIVE_KINDS = ['message_in', 'message_out', 'message_sent', 'message_delivered', 'message_failed', 'thread_opened', 'thread_closed'];
// The live stream (GET /stream, Server-Sent Events): calls onEvent(data) for every event of
// LIVE_KINDS the user may see; answers a function that closes it, or null where EventSource is
// missing. The browser reconnects by itself and resumes with Last-Event-ID.
export function live(onEvent) {
  if (typeof EventSource !== 'function') return null;
  const es = new EventSource(apiUrl('/stream'));
  const handle = (e) => { try { onEvent(JSON.parse(e.data)); } catch { /* not an event */ } };
  for (const k of LIVE_KINDS) es.addEventListener(k, handle);
  return () => es.close();
}

// The lead's threads, newest first.
export const threads = (leadId) => get(`/leads/${leadId}/threads`).then((r) => (r && r.items) || []);
// A thread's messages, oldest first.
export const messages = (threadId) => get(`/threads/${threadId}/messages`).then((r) => (r && r.items) || []);
// msg: {channel, thread_id?, subject?, body?, template_id?, new_thread?} -> the queued message.
// 422 (fields.channel: opted out, no address), 409 (the thread is closed).
export const send = (leadId, msg) => post(`/leads/${leadId}/messages`, msg);
// -> the closed thread; notifyLead: send the closing notification (e-mail).
export const close = (threadId, notifyLead) => post(`/threads/${threadId}/close`, { notify_lead: !!notifyLead });
// -> the queued review request; 409 when one was sent too recently.
export const reviewRequest = (leadId, channel) => post(`/leads/${leadId}/review-request`, { channel });
