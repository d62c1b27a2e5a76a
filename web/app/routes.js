// routes.js — the route table: which page answers which path. A new screen is one file in
// pages/ and one line here; nothing else decides what a path shows.
//   path: segments; ":name" takes one segment, ":name(regex)" one that matches regex.
//   props(params): the page's props (default: the params as they are).
//   remount: a new page instance (fresh state) whenever the params change.
// A trailing slash is allowed. No match shows NotFound.
import { Dashboard } from './pages/dashboard.js';
import { LeadsPage } from './pages/leads.js';
import { LeadPage } from './pages/lead.js';
import { BoardPage } from './pages/board.js';
import { SettingsPage } from './pages/settings.js';
import { ApprovalsPage } from './pages/approvals.js';
import { CustomersPage, CustomerPage } from './pages/customers.js';
import { ReportsPage } from './pages/reports.js';
import { TicketsPage, TicketPage } from './pages/tickets.js';
import { NotFound } from './pages/not-found.js';

export const ROUTES = [
  { path: '/', page: Dashboard },
  { path: '/dashboard', page: Dashboard },
  { path: '/leads', page: LeadsPage },
  { path: '/board', page: BoardPage },
  { path: '/leads/:id(\\d+)', page: LeadPage, props: (p) => ({ id: Number(p.id) }), remount: true },
  { path: '/approvals', page: ApprovalsPage },
  { path: '/customers', page: CustomersPage },
  { path: '/customers/:id(\\d+)', page: CustomerPage, props: (p) => ({ id: Number(p.id) }), remount: true },
  { path: '/tickets', page: TicketsPage },
  { path: '/tickets/:id(\\d+)', page: TicketPage, props: (p) => ({ id: Number(p.id) }), remount: true },
  { path: '/reports', page: ReportsPage },
  { path: '/reports/:kind(aging|funnel|win-back)', page: ReportsPage },
  { path: '/settings', page: SettingsPage, props: () => ({ list: 'stages' }) },
  { path: '/settings/:list([a-z-]+)', page: SettingsPage },
];

function compile(path) {
  const names = [];
  const body = path.split('/').filter(Boolean).map((seg) => {
    const m = /^:(\w+)(?:\((.+)\))?$/.exec(seg);
    if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(m[1]);
    return `(${m[2] || '[^/]+'})`;
  }).join('/');
  return { re: new RegExp(`^/${body}/?$`), names };
}
const compiled = ROUTES.map((r) => ({ ...r, ...compile(r.path) }));

// -> {page, props, key} for a path (NotFound when no route matches).
export function match(path) {
  for (const r of compiled) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    // no key: the same page stays mounted while only its params change
    return { page: r.page, props: r.props ? r.props(params) : params, key: r.remount ? r.path + JSON.stringify(params) : undefined };
  }
  return { page: NotFound, props: {}, key: undefined };
}
