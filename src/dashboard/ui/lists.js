// Read-only lists for now: sync runs (with errors), triggers, executions. Editing comes with their write endpoints.
import { api } from './api.js';
import { h, errorBox } from './dom.js';

function listPage(title, path, key, columns, row) {
  return (root) => {
    const body = h('tbody');
    const refresh = h('button', { type: 'button' }, 'Refresh');
    const note = h('span.muted');
    root.append(h('h2', {}, title), h('div.toolbar', {}, refresh, note), h('table', {}, h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))), body));
    async function load() {
      try {
        const items = (await api(path))[key];
        note.textContent = `${items.length} shown`;
        body.replaceChildren(...(items.length ? items.map((x) => h('tr', {}, row(x).map((v) => h('td', {}, v ?? '')))) : [h('tr', {}, h('td.muted', { colspan: columns.length }, 'none yet'))]));
      } catch (err) {
        body.replaceChildren(h('tr', {}, h('td', { colspan: columns.length }, errorBox(err))));
      }
    }
    refresh.addEventListener('click', () => void load());
    void load();
  };
}

export const runsPage = listPage('Sync runs', '/api/runs?limit=200', 'runs',
  ['Id', 'Account', 'Started', 'Finished', 'Result', 'Objects', 'Pages', 'Error'],
  (r) => [r.id, `${r.connector}/${r.accountName}`, r.startedAt, r.finishedAt, r.success === null ? 'running' : r.success ? 'ok' : 'failed', r.objects, r.pages, r.error]);

export const triggersPage = listPage('Triggers', '/api/triggers', 'triggers',
  ['Name', 'Enabled', 'Updated', 'Spec'],
  (t) => [t.name, t.enabled ? 'yes' : 'no', t.updatedAt, JSON.stringify(t.spec)]);

export const executionsPage = listPage('Executions', '/api/executions?limit=200', 'executions',
  ['Id', 'Trigger', 'Event', 'Target', 'Task', 'Status', 'Error'],
  (x) => [x.id, x.trigger, `${x.eventConnector} ${x.eventKey}`, x.target, x.task, x.status, x.error]);
