// api/auth.js — the session: sign in, sign out, who am I (/auth/login, /auth/logout, /me).
import { get, post } from './client.js';

// -> {token, csrf_token, user}; a wrong password is a 401 that does not end the app's session.
export const login = (email, password) => post('/auth/login', { email, password }, { noAuthRedirect: true });
export const logout = () => post('/auth/logout', {});
// -> {user, csrf_token}; 401 when nobody is signed in (asked once at start, so no sign-in prompt).
export const me = () => get('/me', null, { noAuthRedirect: true });
