// Executions: what the dispatcher ran for each event and trigger, newest first, filtered by trigger,
// status and event id (server-side); a row opens its event data, inputs, outputs, error and earlier
// tries. A failed one has a Replay button (`switchboard trigger replay ID`): its trigger's tries
// again, sent by a running dispatcher within a second.
import { api, send } from './api.js';
import { h, action, errorBox, table, emptyRow, when, duration } from './dom.js';

export function executionsPage(root) {
  const columns = ['Dispatched', 'Trigger', 'Event', 'Target', 'Task', 'Status', 'Try', 'Duration', 'Error', ''];
  const [list, body] = table(columns);
  const trigger = h('select', { 'aria-label': 'trigger' }, h('option', { value: '' }, 'all triggers'));
  const status = h(
    'select',
    { 'aria-label': 'status' },
    h('option', { value: '' }, 'any status'),
    ['dispatched', 'retrying', 'done', 'failed'].map((s) => h('option', { value: s }, s)),
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
        try: `${x.attempt} of ${x.maxAttempts}`,
        ...(x.dueAt ? { [x.status === 'retrying' ? 'nextTry' : 'timesOutAt']: x.dueAt } : {}),
        ...(x.attempts?.length ? { failedTries: x.attempts } : {}),
        ...(x.emit ? { emits: x.emit } : {}),
        ...(x.eventCausedBy ? { chain: { hops: x.eventHops, causedBy: x.eventCausedBy } } : {}),
        ...(x.runId !== null && x.runId !== undefined ? { syncRun: x.runId } : {}),
        dispatcher: x.dispatcher,
      },
      null,
      2,
    );
  };

  /** Replays one failed execution; the row shows the refusal when there is one. */
  function replayButton(x) {
    const b = action(
      'Replay',
      async () => {
        try {
          await send('POST', `/api/executions/${encodeURIComponent(x.id)}/replay`);
          await load();
        } catch (err) {
          b.replaceWith(errorBox(err));
        }
      },
      { 'aria-label': `replay ${x.id}` },
    );
    b.addEventListener('click', (e) => e.stopPropagation());
    return b;
  }

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
                h(
                  'td',
                  {},
                  x.target,
                  x.runId === null || x.runId === undefined ? '' : h('div.muted', {}, `run ${x.runId}`),
                ),
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
                h('td', { 'data-role': 'try' }, `${x.attempt}/${x.maxAttempts}`),
                h('td', {}, duration(x.durationMs)),
                h('td.wrap', {}, x.error ?? ''),
                h('td.actions', {}, x.status === 'failed' ? replayButton(x) : ''),
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
