// api/imports.js — importing leads from CSV files (docs/import.md): /import/uploads (the file,
// streamed to the server with upload progress; its preview), /import/uploads/{id}/start, and the
// one-step /import/leads. The job that imports is followed with jobs.read.
import { get, post, del, upload as send } from './client.js';

// -> the upload {id, rows, headers, sample, suggested_mapping, fields, ...}; onProgress({loaded, total}).
export async function upload(file, { onProgress, signal } = {}) {
  const r = await send('/import/uploads', file, { contentType: 'text/csv', onProgress, signal });
  return r.data;
}
export const read = (id) => get(`/import/uploads/${id}`);
export const remove = (id) => del(`/import/uploads/${id}`);
// {mapping, on_duplicate, dry_run} -> {job_id, upload_id, dry_run, ...}
export const start = (id, options) => post(`/import/uploads/${id}/start`, options);
