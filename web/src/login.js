// The sign-in dialog: a token field when signed out, the user and a sign-out button when
// signed in (session.js keeps the session).

import { $, h, toast } from './dom.js';
import { errorText, t } from './i18n.js';

/**
 * hookLogin wires the sign-in dialog: a token field when signed out, the user and a sign-out
 * button when signed in. auth is session.js; onChange runs after either.
 */
export function hookLogin(auth, onChange) {
  const dlg = $('login');
  const err = $('login-error');
  const render = () => {
    const u = auth.session.user;
    $('login-title').textContent = u ? t('auth.account') : t('auth.signIn');
    $('login-signed').textContent = u ? t('auth.signedInAs', { who: auth.userLabel() }) : '';
    $('login-signed').hidden = !u;
    for (const id of ['token-label', 'token-input', 'login-help', 'login-submit']) $(id).hidden = Boolean(u);
    $('token-label').textContent = t('auth.token');
    $('token-input').placeholder = t('auth.token.ph');
    $('login-help').textContent = t('auth.token.help');
    $('login-submit').textContent = t('auth.signIn');
    $('logout-btn').textContent = t('auth.signOut');
    $('logout-btn').hidden = !u;
    $('login-cancel').textContent = t('settings.close');
    err.hidden = true;
  };
  $('user').addEventListener('click', () => {
    render();
    $('token-input').value = '';
    dlg.showModal();
    if (!auth.session.user) $('token-input').focus();
  });
  $('login-cancel').addEventListener('click', () => dlg.close());
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    $('login-submit').disabled = true;
    try {
      await auth.login(token);
      dlg.close();
      toast(t('auth.welcome', { who: auth.userLabel() }));
      onChange();
    } catch (ex) {
      const why = ex.status === 401 ? t('auth.badToken') : errorText(ex.code);
      err.replaceChildren(why || ex.message, why ? h('span.detail', null, ex.message) : '');
      err.hidden = false;
    } finally {
      $('login-submit').disabled = false;
    }
  });
  $('logout-btn').addEventListener('click', async () => {
    try {
      await auth.logout();
    } catch (ex) {
      toast(ex.message);
    }
    dlg.close();
    toast(t('auth.signedOut'));
    onChange();
  });
}
