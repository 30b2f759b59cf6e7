// Signing in and what the signed-in user may do.
//
// The UI signs in once with an API token (POST /api/v1/session): the server sets an HttpOnly
// cookie and answers with the user and a CSRF token, which api.send puts on every write. The
// cookie is invisible to scripts, so a reload asks GET /api/v1/session — but only when this
// browser signed in before (a flag in localStorage): an anonymous visitor never sees a 401.
//
// The permission checks here only decide which tools are enabled and what their tooltips say;
// the server decides (403 EFORBIDDEN), and a refusal is shown as it comes.

import { api, APIError, edit, setCSRF } from './api.js';
import { t } from './i18n.js';
import { ancestors } from './model.js';

const FLAG = 'gridmap.signedIn';

export const session = { user: null };

/** restore picks up a session opened earlier in this browser. */
export async function restore() {
  if (!localStorage.getItem(FLAG)) return null;
  try {
    const s = await api.session();
    session.user = s.user;
    setCSRF(s.csrf_token);
  } catch (err) {
    if (!(err instanceof APIError) || err.status !== 401) throw err;
    localStorage.removeItem(FLAG);
    session.user = null;
  }
  return session.user;
}

/** login opens a session with an API token; rejects with the server's message. */
export async function login(token) {
  const s = await edit.login(token.trim());
  session.user = s.user;
  setCSRF(s.csrf_token);
  localStorage.setItem(FLAG, '1');
  return s.user;
}

export async function logout() {
  try {
    await edit.logout();
  } finally {
    session.user = null;
    setCSRF(null);
    localStorage.removeItem(FLAG);
  }
}

const role = () => session.user?.role || '';

/** canEditGrids: paint, split, merge (planners and admins). */
export function canEditGrids() {
  return role() === 'planner' || role() === 'admin';
}

/** canWrite: any write at all (undo and redo of one's own operations). */
export function canWrite() {
  return canEditGrids() || role() === 'grid_leader';
}

/** canAssignIn: staff assignments at a place whose grid is gridId (idx: the coverage tree). */
export function canAssignIn(idx, gridId) {
  if (canEditGrids()) return true;
  if (role() !== 'grid_leader' || gridId == null) return false;
  const own = new Set(session.user.grids || []);
  if (own.has(gridId)) return true;
  const g = idx?.byId.get(gridId);
  return Boolean(g && ancestors(idx, g).some((a) => own.has(a.id)));
}

/** denyReason says why a tool is off for the current user ('' when it is on). */
export function denyReason(what = 'grids') {
  if (!session.user) return t('auth.deny.anonymous');
  if (what === 'grids' && canEditGrids()) return '';
  if (what === 'staff' && canWrite()) return '';
  if (role() === 'grid_leader') return t('auth.deny.gridLeader');
  return t('auth.deny.viewer', { role: t(`auth.role.${role()}`) });
}

/** userLabel is what the top bar shows: "alice（规划员）", or the guest label. */
export function userLabel() {
  if (!session.user) return t('auth.guest');
  return t('auth.userRole', { name: session.user.name, role: t(`auth.role.${role()}`) });
}
