// api/lists.js — the configurable lists: stages, outcomes, lost reasons, sources, locations,
// partners, groups (/stages, /outcomes, /lost-reasons, ...). One set of calls, the list named
// by its API path segment.
import { post, patch, getAll } from './client.js';

export const NAMES = ['stages', 'outcomes', 'lost-reasons', 'sources', 'locations', 'partners', 'groups'];

function path(name) {
  if (!NAMES.includes(name)) throw new Error(`not a configurable list: ${name}`);
  return '/' + name;
}
// Every item; stages in the order of the status path.
export async function all(name) {
  const items = await getAll(path(name));
  if (name === 'stages') items.sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || a.id - b.id);
  return items;
}
export const create = (name, item, idem) => post(path(name), item, { idem });
// key: the item's id (or an outcome's key)
export const update = (name, key, changes, version) => patch(`${path(name)}/${key}`, changes, { ifMatch: version });
