// api/settings.js — the team's settings, one flat object (/settings): sla_warning_days,
// sla_breach_days, follow_up_window_days, close_lost_default_group_id, business hours, ...
import { get, patch } from './client.js';

export const load = () => get('/settings');
// changes: any subset of the keys; answers the whole settings object
export const update = (changes) => patch('/settings', changes);
