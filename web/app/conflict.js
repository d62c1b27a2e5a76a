// conflict.js — the one answer to a 412 version mismatch (someone else saved the record since
// this screen read it). Every screen words it the same way: what changed, then what the screen
// did about it or what to do next.
//   catch (e) { setError(conflictOr(e, 'lead', 'The latest version is loaded: try again.')); }
// what: the record's noun ('lead', 'task', 'webhook', 'stage', ..., or 'settings').

export const isConflict = (err) => !!err && err.status === 412;

export function conflictMessage(what, next = '') {
  const subject = what === 'settings' ? 'The settings were' : `This ${what} was`;
  return `${subject} changed by someone else meanwhile.${next ? ' ' + next : ''}`;
}

// The error to show for err: a conflict becomes the message above (marked conflict: true, with
// no field errors), anything else stays as it is.
export function conflictOr(err, what, next) {
  return isConflict(err) ? { message: conflictMessage(what, next), conflict: true, fields: {} } : err;
}
