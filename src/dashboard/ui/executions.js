// Executions: what the dispatcher ran for each event and trigger, newest first, filtered by trigger,
// status and event id (server-side); a row opens its event data, inputs, outputs and error.
import { api } from './api.js';
import { h, errorBox, table, emptyRow, when, duration } from './dom.js';

export function executionsPage(root) {
  const columns = ['Dispatched', 'Trigger', 'Event', 'Target', 'Task', 'Status', 'Duration', 'Error'];
  const [list, body] = table(columns);
  const trigger = h('select', { 'aria-label': 'trigger' }, h('option', { value: '' }, 'all triggers'));
  const status = h(
    'select',
    { 'aria-label': 'status' },
    h('option', { value: '' }, 'any status'),
    ['dispatched', 'done', 'failed'].map((s) => h('option', { value: s }, s)),
  );
  const event = h('input', { type: 'search', placeholder: 'event id', 'aria-label': 'event id' });
  const limit = h(
    'select',
    { 'aria-label': 'how many' },
    [50, 100, 200, 500].map((n) => h('option', { value: n }, `last ${n}`)),
  );
  limit.value = '100';
  const auto = h('input', { type: 'checkbox', checked: true, 'aria-label': 'refresh every 5 s' });
  const count = h('span.muted');
  const detail = h('pre.detail');
  root.append(
    h('h2', {}, 'Executions'),
    h(
      'div.toolbar',
      {},
      trigger,
      status,
      event,
      limit,
      h('button', { type: 'button', onclick: () => void load() }, 'Refresh'),
      h('label', {}, auto, ' every 5 s'),
      count,
    ),
    list,
    detail,
  );
  for (const el of [trigger, status, limit]) el.addEventListener('change', () => void load());
  let typing;
  event.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => void load(), 300);
  });

  let selected;
  const show = (x) => {
    selected = x.id;
    for (const tr of body.querySelectorAll('tr[data-execution]'))
      tr.classList.toggle('selected', tr.dataset.execution === x.id);
    detail.textContent = JSON.stringify(
      {
        id: x.id,
        event: { id: x.eventId, connector: x.eventConnector, key: x.eventKey, time: x.eventTime, data: x.eventData },
        inputs: x.inputs,
        outputs: x.outputs,
        error: x.error,
        startedAt: x.startedAt,
        finishedAt: x.finishedAt,
      },
      null,
      2,
    );
  };

  async function load() {
    const q = new URLSearchParams({ limit: limit.value });
    if (trigger.value) q.set('trigger', trigger.value);
    if (status.value) q.set('status', status.value);
    if (event.value.trim()) q.set('event', event.value.trim());
    try {
      const { executions } = await api(`/api/executions?${q}`);
      count.textContent = `${executions.length} shown`;
      body.replaceChildren(
        ...(executions.length
          ? executions.map((x) =>
              h(
                `tr.clickable${x.status === 'failed' ? '.failed' : ''}${x.id === selected ? '.selected' : ''}`,
                { 'data-execution': x.id, onclick: () => show(x) },
                h('td', {}, when(x.dispatchedAt)),
                h('td', {}, x.trigger),
                h('td', {}, `${x.eventConnector} ${x.eventKey}`),
                h('td', {}, x.target),
                h('td', {}, x.task),
                h(
                  'td',
                  {},
                  h(
                    `span.badge.${x.status === 'done' ? 'up' : x.status === 'failed' ? 'down' : 'running'}`,
                    {},
                    x.status,
                  ),
                ),
                h('td', {}, duration(x.durationMs)),
                h('td.wrap', {}, x.error ?? ''),
              ),
            )
          : [emptyRow(columns.length, 'none yet')]),
      );
    } catch (err) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: columns.length }, errorBox(err))));
    }
  }

  api('/api/triggers').then(
    ({ triggers }) => trigger.append(...triggers.map((t) => h('option', { value: t.name }, t.name))),
    () => {},
  );
  void load();
  const timer = setInterval(() => {
    if (auto.checked) void load();
  }, 5000);
  return () => {
    clearInterval(timer);
    clearTimeout(typing);
  };
}
