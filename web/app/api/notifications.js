// api/notifications.js — the caller's notifications: /notifications, /notifications/{id}/read,
// /notifications/read-all.
import { get, post } from './client.js';

export const list = ({ unread = false } = {}) => get('/notifications', unread ? { unread: 1 } : {});
export const markRead = (id) => post(`/notifications/${id}/read`, {});
export const markAllRead = () => post('/notifications/read-all', {});
