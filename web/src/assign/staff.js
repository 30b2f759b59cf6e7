// The staff panel (人员安排): the current assignments of the target grid, or of the building or
// unit inspected, once signed in; pick a worker by name and a role to assign, 结束 to end one
// (it stays as history).

import { api, edit } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { canAssignIn, canWrite, denyReason, session } from '../session.js';
import { A, App, gridById, render } from './core.js';
import { onSaved, write } from './save.js';

// after each save the place's staff is read again (the save may have been an assignment)
onSaved(() => { if (A.place) loadStaff(); });

/** gridPlace is the staff panel's place for grid id. */
export function gridPlace(id) {
  const g = gridById(id) || App().state.idx?.byId.get(id);
  return g ? { kind: 'grid', id: g.id, name: g.name, gridId: g.id } : null;
}

/** setPlace shows place's staff (null: none). */
export function setPlace(place) {
  A.place = place;
  A.staff = null;
  if (place) loadStaff();
  render();
}

let staffSeq = 0;
/** loadStaff reads the place's current assignments (and the workers to pick from, when allowed). */
export async function loadStaff() {
  const p = A.place;
  if (!p) return;
  const seq = ++staffSeq; // a reload after each write: only the latest may land
  if (!session.user) {
    A.staff = { place: p, list: [], signIn: true };
    render();
    return;
  }
  try {
    const param = { grid: { grid: p.id }, building: { building: p.id }, unit: { unit: p.id } }[p.kind];
    const [list, detail] = await Promise.all([
      api.assignments(param),
      p.kind === 'building' && !p.units ? api.building(p.id) : null,
    ]);
    if (detail) p.units = (detail.properties?.unit_list || []).map((u) => ({ id: u.id, label: u.label }));
    if (A.place === p && seq === staffSeq) A.staff = { place: p, list: list.assignments || [] };
  } catch (err) {
    if (A.place === p && seq === staffSeq) A.staff = { place: p, list: [], error: err.message };
  }
  if (!A.workers && canAssignIn(App().state.idx, p.gridId)) {
    api.workers().then((w) => {
      A.workers = w.workers || [];
      render();
    }).catch(() => {});
  }
  render();
}

const ROLES = { grid: ['grid_worker', 'grid_leader'], building: ['building_leader'], unit: ['unit_leader'] };

/** assignStaff starts an assignment of worker at the staff panel's place. */
export async function assignStaff(workerId, role) {
  const p = A.place;
  if (!p) return null;
  const worker = A.workers?.find((w) => w.id === workerId)?.display_name || `#${workerId}`;
  const body = { worker_id: workerId, role };
  if (p.kind === 'grid') body.grid = String(p.id);
  else body[`${p.kind}_id`] = p.id;
  return write(t('assign.busy.staff'), () => edit.assign(body), () => t('assign.done.staff', { worker, role: t(`role.${role}`), name: p.name }));
}

export async function endStaff(a) {
  return write(t('assign.busy.staff'), () => edit.endAssignment(a.id), () => t('assign.done.endStaff', { name: a.worker_name }));
}

/** section is the staff panel: who is assigned at the place, with roles; assign and end. */
export function section() {
  if (!A.community || !A.balance) return null;
  const p = A.place;
  const sec = h('section.astaff#staff', null, h('h3', null, t('assign.staff')));
  if (!p) {
    sec.append(h('p.muted', null, t('assign.staff.pick')));
    return sec;
  }
  const kindName = { grid: t('popup.grid'), building: t('popup.building'), unit: t('popup.unit') }[p.kind];
  sec.dataset.kind = p.kind;
  sec.dataset.id = String(p.id);
  sec.append(h('p.place', null, h('span.badge', null, kindName), ` ${p.name}`,
    p.kind !== 'grid' && A.target ? h('button.linkish', { type: 'button', onclick: () => setPlace(gridPlace(A.target)) }, ` ← ${t('assign.staff.backToGrid')}`) : null));
  if (p.kind === 'building' && p.units?.length) {
    sec.append(h('div.units', null, h('span.muted', null, `${t('popup.units')}: `), p.units.map((u) => h('button.chip2', {
      type: 'button', onclick: () => setPlace({ kind: 'unit', id: u.id, name: `${p.name} ${u.label}`, gridId: p.gridId }),
    }, u.label))));
  }
  const allowed = canAssignIn(App().state.idx, p.gridId);
  const why = allowed ? '' : (session.user && canWrite() ? t('assign.staff.notYours') : denyReason('staff'));
  const list = A.staff?.place === p ? A.staff.list : null;
  if (!list) sec.append(h('p.muted', null, t('panel.loading')));
  else if (A.staff.signIn) sec.append(h('p.muted', null, t('popup.staff.signIn')));
  else if (A.staff.error) sec.append(h('p.bad', null, A.staff.error));
  else if (!list.length) sec.append(h('p.muted', null, t('popup.staff.none')));
  else {
    sec.append(h('ul.alist', null, list.map((a) => h('li', { dataset: { assignment: String(a.id), worker: String(a.worker_id) } },
      h('span.role', null, t(`role.${a.role}`)), ` ${a.worker_name} `,
      h('span.muted.small', null, `${t('assign.since')} ${a.valid_from?.slice(0, 10) || ''}`),
      h('button.small.end', {
        type: 'button', disabled: !allowed || A.busy ? true : undefined, title: why || t('assign.staff.end.hint'),
        onclick: () => endStaff(a),
      }, t('assign.staff.end'))))));
  }
  const roles = ROLES[p.kind];
  const input = h('input#worker-input', { list: 'worker-list', placeholder: t('assign.staff.workerPh'), disabled: !allowed ? true : undefined, autocomplete: 'off' });
  const role = h('select#worker-role', { disabled: !allowed ? true : undefined }, roles.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const submit = () => {
    const v = input.value.trim();
    const m = /#(\d+)\s*$/.exec(v);
    const w = m ? A.workers?.find((x) => x.id === Number(m[1])) : A.workers?.find((x) => x.display_name === v);
    if (!w) {
      A.note = { kind: 'error', text: t('assign.staff.unknown', { v }) };
      render();
      return;
    }
    assignStaff(w.id, role.value);
  };
  sec.append(h('div.addstaff', { title: why || undefined }, input, role,
    h('button.primary.small#worker-assign', { type: 'button', disabled: !allowed || A.busy ? true : undefined, onclick: submit }, t('assign.staff.add'))),
  h('datalist#worker-list', null, (allowed ? A.workers || [] : []).map((w) => h('option', { value: `${w.display_name} · ${t(`role.${w.role}`)} · #${w.id}` }))));
  if (why) sec.append(h('p.muted.small', null, why));
  return sec;
}
