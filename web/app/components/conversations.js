// components/conversations.js — the lead page's "Conversations" section: the lead's threads
// (newest first) with their messages (direction, time, body as text, delivery state, how an
// inbound message was matched), a banner on a thread with a failed message, a composer (channel,
// template, subject, body; a new conversation; the server's refusals shown beside it), closing a
// conversation (with the closing notification for e-mail) and asking for a review. While the
// page is open it follows the live stream (GET /stream): a message's new delivery state (sent,
// delivered, failed with the reason) is applied to the message shown, any other event of the lead
// reads the threads again (as a poll every few seconds does); the composer keeps its text.
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Select, Input, Textarea, Check, ErrorBox, Notice, Spinner, Dialog, nameOf } from '../ui.js';
import { fmtDateTime, useId } from '../util.js';

export const REFRESH_MS = 5000;

const CHANNELS = { email: { label: 'Email', icon: '✉' }, sms: { label: 'SMS', icon: '💬' }, chat: { label: 'Chat', icon: '🗨' } };
const channelLabel = (c) => (CHANNELS[c] || { label: c }).label;
const STATUS = { queued: 'Queued', sent: 'Sent', delivered: 'Delivered', failed: 'Failed', received: 'Received' };
// the stream's events of a message's new state, and the order states move in
const STATE_KINDS = ['message_sent', 'message_delivered', 'message_failed'];
const RANK = { queued: 0, sent: 1, delivered: 2, failed: 2 };
// how an inbound message found its thread (the server's matched_by)
const MATCHED = { reply_token: 'matched by reply address', header: 'matched by email headers', address: 'matched by sender address',
  new_thread: 'new conversation from a known sender', new_lead: 'new lead from an unknown sender',
  form_email: 'web form, matched by e-mail', form_phone: 'web form, matched by phone' };
const KINDS = { close_notification: 'closing notification', review_request: 'review request' };

// The words of a refusal: each field's message (opted out, no address, ...), else the message.
const sentence = (f) => { const t = String(f.message || f); return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.'); };
function refusal(err) {
  if (!err) return null;
  const fields = Object.values(err.fields || {});
  return fields.length ? { message: fields.map(sentence).join(' ') } : err;
}

// What changed between two reads (a new message or a new delivery state), to refresh the lead.
const signature = (threads, msgs) => JSON.stringify(threads.map((t) => [t.id, t.status, (msgs[t.id] || []).map((m) => m.id + m.status)]));

function Message({ m }) {
  const { refs } = useApp();
  const inbound = m.direction === 'in';
  const who = inbound ? (m.from || 'the lead') : (m.created_by ? nameOf(refs.users, m.created_by, 'leadpath') : 'leadpath');
  return html`<li class=${'msg msg-' + (inbound ? 'in' : 'out') + ' msg-' + m.status} data-message-id=${m.id} data-status=${m.status}>
    <div class="msg-head">
      <span class="msg-dir">${inbound ? '← Received from ' : '→ Sent by '}${who}</span>
      <time datetime=${m.created_at}>${fmtDateTime(m.created_at)}</time>
      ${inbound ? (m.matched_by ? html`<span class="msg-match">${MATCHED[m.matched_by] || m.matched_by}</span>` : null)
        : html`<span class=${'badge msg-state state-' + m.status}>${STATUS[m.status] || m.status}</span>`}
      ${m.kind && KINDS[m.kind] ? html`<span class="muted">${KINDS[m.kind]}</span>` : null}
    </div>
    ${m.subject ? html`<p class="msg-subject">${m.subject}</p>` : null}
    <p class="msg-body pre">${m.body || ''}</p>
    ${m.status === 'failed' ? html`<p class="msg-error">Not delivered: ${m.error || 'no reason given'}</p>` : null}
  </li>`;
}

function Thread({ t, msgs, current, onWrite, onClose }) {
  const failed = msgs.filter((m) => m.status === 'failed');
  const ch = CHANNELS[t.channel] || { label: t.channel, icon: '•' };
  const closed = t.status === 'closed';
  return html`<article class=${'thread' + (closed ? ' thread-closed' : '') + (current ? ' thread-current' : '')} data-thread-id=${t.id}
      aria-label=${`${ch.label} conversation${t.subject ? ': ' + t.subject : ''}`}>
    <header class="thread-head">
      <span class="ch-icon" aria-hidden="true">${ch.icon}</span>
      <span class="thread-channel">${ch.label}</span>
      <span class="thread-subject">${t.subject || (t.channel === 'email' ? '(no subject)' : '')}</span>
      <span class=${'badge thread-status status-' + t.status}>${closed ? 'Closed' : 'Open'}</span>
      <span class="muted">${t.last_message_at ? 'last message ' + fmtDateTime(t.last_message_at) : 'opened ' + fmtDateTime(t.opened_at)}</span>
      <span class="thread-actions">
        ${!closed && !current ? html`<button type="button" class="btn btn-small btn-ghost" onClick=${() => onWrite(t)}>Write here</button>` : null}
        ${!closed ? html`<button type="button" class="btn btn-small" onClick=${() => onClose(t)}>Close conversation</button>` : null}
      </span>
    </header>
    ${failed.length ? html`<div class="thread-failed" role="alert">
      <strong>⚠ ${failed.length === 1 ? 'A message in this conversation was not delivered' : `${failed.length} messages in this conversation were not delivered`}.</strong>
      ${failed.map((m) => html`<span class="thread-failed-why"> ${m.error || 'No reason given.'}</span>`)}
    </div>` : null}
    ${closed ? html`<p class="muted thread-closed-note">Closed ${fmtDateTime(t.closed_at)}.</p>` : null}
    ${msgs.length ? html`<ol class="messages">${msgs.map((m) => html`<${Message} key=${m.id} m=${m} />`)}</ol>` : html`<p class="empty">No messages.</p>`}
  </article>`;
}

// target: {threadId, channel}; threadId null writes a new conversation.
function Composer({ lead, target, thread, templates, setTarget, onSent }) {
  const [tplId, setTplId] = useState('');
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const headId = useId('composer');
  const channel = thread ? thread.channel : target.channel;
  const closed = !!thread && thread.status === 'closed';
  const choices = templates.filter((t) => t.channel === channel && t.kind === 'message' && t.active !== false);
  const tpl = choices.find((t) => String(t.id) === String(tplId));
  useEffect(() => { if (tplId && !tpl) setTplId(''); }, [channel]);
  useEffect(() => setError(null), [target.threadId, target.channel]);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    const msg = { channel };
    if (thread) msg.thread_id = thread.id; else msg.new_thread = true;
    if (tpl) msg.template_id = tpl.id;
    if (channel === 'email' && subject.trim()) msg.subject = subject.trim();
    if (body.trim()) msg.body = body;
    try {
      const sent = await api.conversations.send(lead.id, msg);
      setBody(''); setSubject(''); setTplId('');
      onSent(sent);
    } catch (err) { setError(refusal(err)); }
    setBusy(false);
  };
  const heading = thread ? `Write in this ${channelLabel(channel)} conversation${thread.subject ? ': ' + thread.subject : ''}` : `New ${channelLabel(channel)} conversation`;
  return html`<form class=${'composer' + (closed ? ' composer-closed' : '')} onSubmit=${submit} aria-labelledby=${headId}>
    <h3 id=${headId}>${heading}</h3>
    ${closed ? html`<p class="notice notice-warn composer-closed-note">This conversation is closed — start a new one.</p>` : null}
    <fieldset disabled=${closed || busy} class="composer-fields">
      <div class="composer-row">
        <${Select} label="Channel" value=${channel} options=${[{ value: 'email', label: 'Email' }, { value: 'sms', label: 'SMS' },
          ...(channel === 'chat' ? [{ value: 'chat', label: 'Chat' }] : [])]}
          onChange=${(v) => setTarget({ channel: v, auto: true })} />
        <${Select} label="Template" value=${tplId} empty="None (write it yourself)" options=${choices.map((t) => ({ value: t.id, label: t.name }))} onChange=${setTplId} />
      </div>
      ${channel === 'email' ? html`<${Input} label="Subject" value=${subject} onInput=${setSubject}
        placeholder=${tpl ? 'From the template: ' + (tpl.subject || '') : thread && thread.subject ? 'Re: ' + thread.subject : ''} />` : null}
      <${Textarea} label="Message" value=${body} onInput=${setBody} rows="4"
        placeholder=${tpl ? 'Leave empty to send the template (filled in with the lead\'s details); text here replaces it.' : ''} />
      ${tpl ? html`<details class="tpl-preview"><summary>The template's text</summary><p class="pre">${tpl.body}</p></details>` : null}
      <div class="actions">
        <button class="btn btn-primary" type="submit" disabled=${busy || closed || (!body.trim() && !tpl)}>${busy ? 'Sending…' : 'Send'}</button>
      </div>
    </fieldset>
    <${ErrorBox} error=${error} />
  </form>`;
}

function CloseThreadDialog({ thread, onClose, onDone }) {
  const [notify, setNotify] = useState(thread && thread.channel === 'email');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { setNotify(!!thread && thread.channel === 'email'); setError(null); }, [thread && thread.id]);
  const go = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try { const t = await api.conversations.close(thread.id, thread.channel === 'email' && notify); onDone(t, notify); }
    catch (err) { setError(refusal(err)); }
    setBusy(false);
  };
  return html`<${Dialog} open=${!!thread} title="Close conversation" onClose=${onClose}>
    ${thread ? html`<form onSubmit=${go}>
      <p>Close this ${channelLabel(thread.channel)} conversation${thread.subject ? html` (<b>${thread.subject}</b>)` : ''}? Nothing more can be sent in it;
        a later reply from the lead starts a new one.</p>
      ${thread.channel === 'email' ? html`<${Check} label="Send the closing notification" checked=${notify} onChange=${setNotify}
        hint="(the closing-notification template, by e-mail)" />` : null}
      <${ErrorBox} error=${error} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-primary" type="submit" disabled=${busy}>Close conversation</button></div>
    </form>` : null}
  <//>`;
}

export function Conversations({ lead, onActivity }) {
  const [threads, setThreads] = useState(null);
  const [msgs, setMsgs] = useState({});
  const [error, setError] = useState(null);
  const [templates, setTemplates] = useState([]);
  const [target, setTargetState] = useState(null);   // {threadId, channel}
  const [closing, setClosing] = useState(null);
  const [notice, setNotice] = useState('');
  const [actionErr, setActionErr] = useState(null);
  const [reviewBusy, setReviewBusy] = useState(false);
  const sig = useRef(null);
  const busy = useRef(false);
  const again = useRef(false);
  const alive = useRef(true);
  const threadsRef = useRef(null);
  threadsRef.current = threads;
  const msgsRef = useRef({});
  msgsRef.current = msgs;

  // newest open thread of a channel (or none: a new conversation)
  const pick = (list, channel) => { const t = (list || []).find((x) => x.channel === channel && x.status === 'open'); return { threadId: t ? t.id : null, channel }; };
  const setTarget = ({ channel, threadId, auto }) => setTargetState(auto ? pick(threadsRef.current, channel) : { threadId: threadId ?? null, channel });

  const load = async () => {
    if (busy.current) { again.current = true; return; }
    busy.current = true;
    try {
      const list = await api.conversations.threads(lead.id);
      const pairs = await Promise.all(list.map(async (t) => [t.id, await api.conversations.messages(t.id)]));
      if (!alive.current) return;
      const byId = Object.fromEntries(pairs);
      setThreads(list); setMsgs(byId); setError(null);
      // ?compose=email|sms (the header's "New message"): a new conversation on that channel
      const compose = new URLSearchParams(location.search).get('compose');
      setTargetState((cur) => cur || (compose === 'email' || compose === 'sms' ? { threadId: null, channel: compose }
        : list.length ? { threadId: list[0].id, channel: list[0].channel === 'sms' ? 'sms' : 'email' } : { threadId: null, channel: 'email' }));
      const s = signature(list, byId);
      if (sig.current !== null && s !== sig.current && onActivity) onActivity();
      sig.current = s;
    } catch (e) { if (alive.current) setError(e); }
    finally {
      busy.current = false;
      if (again.current && alive.current) { again.current = false; load(); }
    }
  };
  useEffect(() => {
    alive.current = true;
    load();
    api.templates.list().then((t) => alive.current && setTemplates(t), () => {});
    const timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
    // the live stream makes the card follow at once; the polling above stays as the fallback
    const stop = api.conversations.live((ev) => {
      if (ev.lead_id !== lead.id || !alive.current) return;
      if (STATE_KINDS.includes(ev.kind) && ev.message && applyState(ev.message)) return;
      load();
    });
    return () => { alive.current = false; clearInterval(timer); if (stop) stop(); };
  }, [lead.id]);

  // A message's new state from the stream (sent, delivered, failed with the reason), applied where
  // the message is shown, without reading the threads again; false when it is not shown (yet).
  const applyState = (m) => {
    const list = msgsRef.current[m.thread_id];
    const old = list && list.find((x) => x.id === m.id);
    if (!old) return false;
    if ((RANK[m.status] ?? 0) <= (RANK[old.status] ?? 0) && m.status !== 'failed') return true;   // states only move forward
    const upd = { ...old, status: m.status, error: m.status === 'failed' ? (m.error || old.error) : old.error };
    const next = { ...msgsRef.current, [m.thread_id]: list.map((x) => (x.id === m.id ? upd : x)) };
    msgsRef.current = next;
    setMsgs(next);
    if (threadsRef.current) sig.current = signature(threadsRef.current, next);
    if (onActivity) onActivity();
    return true;
  };

  const thread = target && target.threadId ? (threads || []).find((t) => t.id === target.threadId) : null;
  const sent = async (m) => {
    setNotice(m.status === 'queued' ? 'Your message is queued for sending.' : 'Sent.'); setActionErr(null);
    setTargetState({ threadId: m.thread_id, channel: m.channel });
    await load();
  };
  const review = async () => {
    setReviewBusy(true); setActionErr(null); setNotice('');
    const channel = (thread ? thread.channel : target && target.channel) === 'sms' ? 'sms' : 'email';
    try { const m = await api.conversations.reviewRequest(lead.id, channel); setNotice(`Review request queued (${channelLabel(channel)}).`); if (m && m.thread_id) setTargetState({ threadId: m.thread_id, channel }); await load(); }
    catch (e) { setActionErr(refusal(e)); }
    setReviewBusy(false);
  };

  return html`<section class="card conversations" aria-labelledby="conv-h">
    <div class="card-head">
      <h2 id="conv-h">Conversations</h2>
      <button type="button" class="btn btn-small" onClick=${() => setTarget({ channel: 'email', threadId: null })}>New email</button>
      <button type="button" class="btn btn-small" onClick=${() => setTarget({ channel: 'sms', threadId: null })}>New SMS</button>
      <button type="button" class="btn btn-small btn-ghost" disabled=${reviewBusy} onClick=${review}>Ask for a review</button>
    </div>
    <p class="muted conv-contact">${lead.last_contacted_at ? `Last contacted ${fmtDateTime(lead.last_contacted_at)}` : 'Not contacted yet'}
      ${lead.email_opt_out ? ' · opted out of e-mail' : ''}${lead.sms_opt_out ? ' · opted out of SMS' : ''}
      ${lead.review_requested_at ? ` · review requested ${fmtDateTime(lead.review_requested_at)}` : ''}</p>
    <${Notice} text=${notice} />
    <${ErrorBox} error=${actionErr} />
    ${target ? html`<${Composer} lead=${lead} target=${target} thread=${thread} templates=${templates} setTarget=${setTarget} onSent=${sent} />` : null}
    <${ErrorBox} error=${error} />
    ${threads === null ? (error ? null : html`<${Spinner} />`) : threads.length ? html`<div class="threads">${threads.map((t) => html`<${Thread} key=${t.id} t=${t}
        msgs=${msgs[t.id] || []} current=${thread && thread.id === t.id}
        onWrite=${(x) => setTargetState({ threadId: x.id, channel: x.channel })} onClose=${setClosing} />`)}</div>`
      : html`<p class="empty">No conversations yet. Write the first one above.</p>`}
    <${CloseThreadDialog} thread=${closing} onClose=${() => setClosing(null)}
      onDone=${(t, notified) => { setClosing(null); setNotice(t.channel === 'email' && notified ? 'Conversation closed; the closing notification is queued.' : 'Conversation closed.'); load(); }} />
  </section>`;
}
