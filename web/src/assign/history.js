// Undo and redo (↶ 撤销, ↷ 重做, Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y): the user's own latest
// operations, undone and redone on the server as new operations; one the server refuses can be
// dropped from the user's stack (从记录中移除), which changes no data.

import { edit } from '../api.js';
import { t } from '../i18n.js';
import { denyReason } from '../session.js';
import { A, render } from './core.js';
import { actionName, refreshOps, write } from './save.js';

export async function undo() {
  if (!A.ops.undo) return nothingTo('undo');
  return write(t('assign.busy.undo'), () => edit.undo(), (res) => t('assign.done.undo', { what: actionName(res.action.replace(/^undo /, '')) }),
    undefined, { op: A.ops.undo, verb: 'undo' });
}

export async function redo() {
  if (!A.ops.redo) return nothingTo('redo');
  return write(t('assign.busy.redo'), () => edit.redo(), (res) => t('assign.done.redo', { what: actionName(res.action.replace(/^redo /, '')) }),
    undefined, { op: A.ops.redo, verb: 'redo' });
}

/** dropOp takes op off the user's undo/redo stack (POST /ops/{id}/drop); no data changes. */
export async function dropOp(op) {
  if (A.busy) return;
  try {
    await edit.dropOp(op.id);
    A.note = { kind: 'info', text: t('assign.dropped', { what: actionName(op.action) }) };
  } catch (err) {
    A.note = { kind: 'error', text: err.message, code: err.code };
  }
  await refreshOps();
}

/** nothingTo answers a key press with nothing to undo or redo (the server would say 409). */
function nothingTo(what) {
  if (A.busy) return null;
  A.note = { kind: 'info', text: denyReason('staff') || t(`assign.${what}.none`) };
  render();
  return null;
}
