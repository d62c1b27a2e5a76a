// pages/users.js — Settings → Users (admins change, everyone reads): the team with role, manager
// and status; add a user (a first password to hand over); change name, e-mail, role, manager
// (If-Match: a 412 is worded by conflict.js); deactivate — the dialog says what moves (open
// leads, open tasks, reports, requests waiting for them, sessions) and who takes the leads and
// tasks, all in one step on the server — and reactivate (api/users.js, api/roles.js).
import { html, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Input, Select, ErrorBox, Spinner, Dialog, Notice, nameOf } from '../ui.js';
import { conflictOr } from '../conflict.js';
import { useLoader, plural } from '../util.js';

const roleOptions = (roles) => roles.map((r) => ({ value: r.name, label: r.name }));
const managerOptions = (users, except) => users.filter((u) => u.active && u.id !== except).map((u) => ({ value: u.id, label: u.name }));

function UserDialog({ user, users, roles, onClose, onSaved }) {
  const creating = !user.id;
  const [f, setF] = useState({ name: user.name || '', email: user.email || '', role: user.role || 'agent',
    manager_id: user.manager_id ? String(user.manager_id) : '', password: '' });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const up = (k) => (v) => setF({ ...f, [k]: v });
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    const body = { name: f.name.trim(), email: f.email.trim(), role: f.role, manager_id: f.manager_id ? Number(f.manager_id) : null };
    try {
      if (creating) await api.users.create({ ...body, password: f.password }, `user-${Date.now()}`);
      else {
        const changes = Object.fromEntries(Object.entries(body).filter(([k, v]) => (user[k] ?? null) !== v));
        if (f.password) changes.password = f.password;
        if (Object.keys(changes).length) await api.users.update(user.id, changes, user.version);
      }
      onSaved(creating ? `${body.name} was added.` : `${body.name} was saved.`);
    } catch (err) { setError(conflictOr(err, 'user', 'Close this dialog: the list shows their version.')); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<${Dialog} open=${true} title=${creating ? 'Add a user' : `Edit ${user.name}`} onClose=${onClose}>
    <form onSubmit=${submit} class="user-form">
      <${Input} label="Name" value=${f.name} onInput=${up('name')} error=${fe.name} required autofocus />
      <${Input} label="E-mail" type="email" value=${f.email} onInput=${up('email')} error=${fe.email} required />
      <${Select} label="Role" value=${f.role} options=${roleOptions(roles)} onChange=${up('role')} error=${fe.role || fe.role_id} />
      <${Select} label="Manager" value=${f.manager_id} empty="No manager" options=${managerOptions(users, user.id)} onChange=${up('manager_id')} error=${fe.manager_id} />
      <${Input} label=${creating ? 'First password' : 'New password (optional)'} type="password" autocomplete="new-password" value=${f.password}
        onInput=${up('password')} error=${fe.password} required=${creating} hint=${creating ? 'At least 8 characters; hand it over and ask them to change it.' : 'Leave empty to keep theirs.'} />
      <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-primary" type="submit" disabled=${busy || !f.name.trim() || !f.email.trim() || (creating && !f.password)}>${creating ? 'Add user' : 'Save'}</button></div>
    </form>
  <//>`;
}

function DeactivateDialog({ user, users, onClose, onDone }) {
  const [moves] = useLoader(() => api.users.leaving(user.id), [user.id]);
  const [to, setTo] = useState(user.manager_id ? String(user.manager_id) : '');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const m = moves.data;
  const needsTo = m && (m.open_leads || m.open_tasks);
  const go = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try {
      const r = await api.users.deactivate(user.id, to ? Number(to) : null);
      const got = r.moved || {};
      onDone(`${user.name} was deactivated${got.open_leads || got.open_tasks ? `; ${plural(got.open_leads || 0, 'open lead')} and ${plural(got.open_tasks || 0, 'open task')} went to ${nameOf(users, Number(to))}` : ''}.`);
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<${Dialog} open=${true} title=${`Deactivate ${user.name}`} onClose=${onClose}>
    <form onSubmit=${go}>
      ${moves.loading && !m ? html`<${Spinner} label="Counting what they hold…" />` : null}
      <${ErrorBox} error=${moves.error} />
      ${m ? html`<p>${user.name} can no longer sign in: their ${plural(m.sessions, 'session')} and API tokens end now.</p>
        <ul class="moves">
          <li>${plural(m.open_leads, 'open lead')} and ${plural(m.open_tasks, 'open task')} go to the person you choose (each change on the lead's timeline).</li>
          ${m.reports ? html`<li>${plural(m.reports, 'person', 'people')} who report to them will report to ${user.manager_id ? nameOf(users, user.manager_id) : 'nobody'}.</li>` : null}
          ${m.pending_approvals ? html`<li>${plural(m.pending_approvals, 'request')} waiting for their approval go to ${user.manager_id ? nameOf(users, user.manager_id) : 'the admins'}.</li>` : null}
        </ul>
        ${needsTo ? html`<${Select} label="Give their leads and tasks to" value=${to} empty="Choose a person…" onChange=${setTo}
          options=${managerOptions(users, user.id)} error=${fe.reassign_to} />` : null}` : null}
      <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-danger" type="submit" disabled=${busy || !m || (needsTo && !to)}>Deactivate</button></div>
    </form>
  <//>`;
}

export function UsersSettings() {
  const { user: me, reloadRef, can } = useApp();
  const admin = !!can.manage_users;
  const [state, reload] = useLoader(async () => {
    const [users, roles] = await Promise.all([api.users.all(), api.roles.list()]);
    return { users, roles };
  }, []);
  const [dialog, setDialog] = useState(null);   // {kind: 'edit'|'add'|'deactivate', user}
  const [notice, setNotice] = useState('');
  const [error, setError] = useState(null);
  const users = (state.data && state.data.users) || [];
  const roles = (state.data && state.data.roles) || [];
  const done = (msg) => { setDialog(null); setNotice(msg); reload(); reloadRef('users'); };
  const reactivate = async (u) => {
    setError(null);
    try { await api.users.reactivate(u.id); done(`${u.name} can sign in again (with a new session).`); } catch (e) { setError(e); }
  };
  if (state.loading && !state.data) return html`<${Spinner} />`;
  return html`<div class="users-admin">
    ${admin ? html`<div class="actions start"><button type="button" class="btn btn-primary" onClick=${() => setDialog({ kind: 'add', user: {} })}>Add a user</button></div>`
      : html`<p class="notice notice-warn">Only admins may add or change users.</p>`}
    <${Notice} text=${notice} />
    <${ErrorBox} error=${state.error || error} />
    <div class="table-wrap"><table class="users-table">
      <caption class="sr-only">Users</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Manager</th><th scope="col">Status</th>
        ${admin ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : null}</tr></thead>
      <tbody>${users.map((u) => html`<tr key=${u.id} data-user-id=${u.id} class=${u.active ? '' : 'inactive'}>
        <td>${u.name}${u.id === me.id ? html` <span class="sub">(you)</span>` : null}</td><td>${u.email}</td><td>${u.role}</td>
        <td>${u.manager_id ? nameOf(users, u.manager_id) : '—'}</td>
        <td>${u.active ? html`<span class="badge badge-open">Active</span>` : html`<span class="badge badge-muted">Inactive</span>`}</td>
        ${admin ? html`<td class="row-actions">
          <button type="button" class="btn btn-small" onClick=${() => setDialog({ kind: 'edit', user: u })}>Edit<span class="sr-only"> ${u.name}</span></button>
          ${u.active ? (u.id !== me.id ? html`<button type="button" class="btn btn-small btn-ghost" onClick=${() => setDialog({ kind: 'deactivate', user: u })}>Deactivate…<span class="sr-only"> ${u.name}</span></button>` : null)
            : html`<button type="button" class="btn btn-small btn-ghost" onClick=${() => reactivate(u)}>Reactivate<span class="sr-only"> ${u.name}</span></button>`}
        </td>` : null}
      </tr>`)}</tbody>
    </table></div>
    ${dialog && (dialog.kind === 'edit' || dialog.kind === 'add') ? html`<${UserDialog} user=${dialog.user} users=${users} roles=${roles}
      onClose=${() => setDialog(null)} onSaved=${done} />` : null}
    ${dialog && dialog.kind === 'deactivate' ? html`<${DeactivateDialog} user=${dialog.user} users=${users}
      onClose=${() => setDialog(null)} onDone=${done} />` : null}
  </div>`;
}
