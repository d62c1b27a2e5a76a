// api/meta.js — what the server's own tables say about records (/meta): the lead field
// catalogue (name, type, editable, required, ...), the task types, the outcome kinds.
// Read once after sign-in; screens take it from the app context (useApp().meta).
import { get } from './client.js';

export const load = () => get('/meta');
