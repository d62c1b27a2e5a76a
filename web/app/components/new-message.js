// components/new-message.js — "New message" in the header: find any lead (open or closed, any
// owner the caller may see) by name, company, email or phone, pick the channel, and land on the
// lead page with a new conversation ready to write (?compose=email|sms, read by the
// Conversations card).
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Dialog, navigate } from '../ui.js';
import { useDebounced } from '../util.js';

export function NewMessageButton() {
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState('');
  const [channel, setChannel] = useState('email');
  const [found, setFound] = useState([]);
  const [error, setError] = useState('');
  const term = useDebounced(q, 250);
  useEffect(() => {
    if (!open || term.trim().length < 2) { setFound([]); return; }
    let live = true;
    api.leads.list({ q: term.trim(), status: 'all', owner: 'any', limit: 8 })
      .then((r) => { if (live) { setFound(r.items || []); setError(''); } },
        (e) => { if (live) setError(e.message || 'The search failed'); });
    return () => { live = false; };
  }, [term, open]);
  const pick = (lead) => {
    setOpen(false);
    setQ('');
    navigate(`/leads/${lead.id}?compose=${channel}`);
  };
  return html`<button type="button" class="btn btn-ghost" onClick=${() => setOpen(true)}>New message</button>
    <${Dialog} open=${open} title="New message" onClose=${() => setOpen(false)}>
      <div class="field"><label for="nm-q">Lead</label>
        <input id="nm-q" type="search" autocomplete="off" placeholder="Name, company, email or phone" value=${q}
          onInput=${(e) => setQ(e.target.value)} /></div>
      <fieldset class="field"><legend>Channel</legend>
        <label><input type="radio" name="nm-ch" value="email" checked=${channel === 'email'} onChange=${() => setChannel('email')} /> Email</label>
        <label><input type="radio" name="nm-ch" value="sms" checked=${channel === 'sms'} onChange=${() => setChannel('sms')} /> SMS</label>
      </fieldset>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <ul class="pick-list" aria-label="Leads found">
        ${found.map((l) => html`<li key=${l.id}><button type="button" class="btn btn-ghost" onClick=${() => pick(l)}>
          ${l.full_name}${l.company ? ` · ${l.company}` : ''}${l.status === 'closed' ? ' (closed)' : ''}</button></li>`)}
      </ul>
      ${term.trim().length >= 2 && !found.length && !error ? html`<p class="muted">No lead found.</p>` : null}
    <//>`;
}
