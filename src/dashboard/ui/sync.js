// Sync: run one, some or all accounts (the dashboard runs `switchboard sync` in the hub's process),
// watch their progress live (frames from /api/live), cancel, and read the run history with errors.
import { api, send, onLive } from './api.js';
import { h, action, errorBox, table, emptyRow, when, duration } from './dom.js';

export function syncPage(root) {
  const problems = h('div');
  const picks = h('div.picks');
  const concurrency = h('input', { type: 'number', min: 1, max: 32, value: 4, 'aria-label': 'concurrency' });
  const runError = h('div');
  let accounts = [];
  const selected = () => [...picks.querySelectorAll('input:checked')].map((i) => i.value);
  const start = async (refs) => {
    runError.replaceChildren();
    try {
      await send('POST', '/api/sync', { accounts: refs, concurrency: Number(concurrency.value) || 4 });
    } catch (err) {
      runError.replaceChildren(errorBox(err));
    }
  };
  const runSelected = action(
    'Run selected',
    async () => {
      const refs = selected();
      if (!refs.length) {
        runError.replaceChildren(errorBox(new Error('select one or more accounts first')));
        return;
      }
      await start(refs);
    },
    { class: 'primary' },
  );
  const runAll = action('Run all', () => start([]));

  const liveColumns = ['Account', 'Run', 'State', 'Objects', 'Pages', 'Elapsed', 'Rate', ''];
  const [liveTable, liveBody] = table(liveColumns);
  const scheduleColumns = ['Account', 'Schedule', 'Next run', 'Change'];
  const [scheduleTable, scheduleBody] = table(scheduleColumns);
  const historyColumns = ['Run', 'Account', 'Started', 'Finished', 'Result', 'Objects', 'Pages', 'Error / metadata'];
  const [historyTable, historyBody] = table(historyColumns);
  const historyFilter = h('select', { 'aria-label': 'history of' }, h('option', { value: '' }, 'all accounts'));
  historyFilter.addEventListener('change', () => void loadHistory());

  root.append(
    h('h2', {}, 'Sync'),
    problems,
    h(
      'section.panel',
      {},
      h('h3', {}, 'Run'),
      picks,
      h('div.toolbar', {}, runSelected, runAll, h('label', {}, 'at once ', concurrency)),
      runError,
    ),
    h('section', { 'data-role': 'live' }, h('h3', {}, 'Progress'), liveTable),
    h(
      'section',
      { 'data-role': 'schedules' },
      h('h3', {}, 'Schedules'),
      h(
        'p.muted',
        {},
        'Run by the sync service of switchboard start: "15m", "2h" (every), or a cron line such as "0 * * * *".',
      ),
      scheduleTable,
    ),
    h(
      'section',
      { 'data-role': 'history' },
      h('h3', {}, 'History'),
      h(
        'div.toolbar',
        {},
        historyFilter,
        h('button', { type: 'button', onclick: () => void loadHistory() }, 'Refresh'),
      ),
      historyTable,
    ),
  );

  // Live progress: jobs by id, the latest progress of each account's run.
  const jobs = new Map();
  /** Objects of each account's last successful run. */
  const expected = new Map();
  function renderLive() {
    const rows = [];
    // Running jobs and the last five finished ones (the history below has the rest).
    const sorted = [...jobs.values()].sort((a, b) => b.id - a.id);
    const shown = [...sorted.filter((j) => !j.finishedAt), ...sorted.filter((j) => j.finishedAt).slice(0, 5)].sort(
      (a, b) => b.id - a.id,
    );
    for (const job of shown) {
      for (const a of job.accounts) {
        const p = job.progress[String(a.id)];
        const outcome = job.outcomes?.find((o) => o.accountId === a.id);
        let state;
        if (outcome?.error) state = h('span.badge.down', {}, `not started: ${outcome.error.message}`);
        else if (p?.phase === 'finished' || outcome?.run) {
          const run = p?.run ?? outcome.run;
          state = run.success
            ? h('span.badge.up', {}, 'ok')
            : h(
                'span',
                {},
                h('span.badge.down', {}, 'failed'),
                ' ',
                h('span.error-text', {}, (run.error ?? '').split('\n')[0]),
              );
        } else if (p) {
          // Against the account's last good run when there is one (like the CLI's bar); else indeterminate.
          const total = expected.get(a.id);
          state = h(
            'span',
            {},
            h('span.badge.running', {}, p.phase === 'started' ? 'starting' : 'running'),
            ' ',
            h('progress', {
              ...(total ? { max: total, value: Math.min(p.objects, total) } : {}),
              'aria-label': `progress of ${a.connector}/${a.name}`,
            }),
          );
        } else state = h('span.badge', {}, job.finishedAt ? 'not run' : 'waiting');
        const objects = p?.run?.objects ?? p?.objects ?? 0;
        const cancel =
          !job.finishedAt && a === job.accounts[0]
            ? action('Cancel', async () => {
                try {
                  await send('DELETE', `/api/sync/${job.id}`);
                } catch (err) {
                  runError.replaceChildren(errorBox(err));
                }
              })
            : '';
        rows.push(
          h(
            'tr',
            { 'data-job': job.id, 'data-account': `${a.connector}/${a.name}`, 'data-phase': p?.phase ?? 'waiting' },
            h('td', {}, `${a.connector}/${a.name}`),
            h('td', {}, p?.runId ?? ''),
            h('td', {}, state),
            h('td.num', { 'data-role': 'objects' }, objects),
            h('td.num', {}, p?.run?.pages ?? p?.pages ?? 0),
            h('td', {}, duration(p?.elapsedMs)),
            h('td', {}, p?.elapsedMs ? `${Math.round(objects / Math.max(p.elapsedMs / 1000, 0.001))} /s` : ''),
            h('td', {}, cancel),
          ),
        );
      }
    }
    liveBody.replaceChildren(
      ...(rows.length ? rows : [emptyRow(liveColumns.length, 'nothing running: pick accounts above and press Run')]),
    );
  }

  function historyRow(r) {
    const detail = r.error ?? r.metadata ?? '';
    const first = detail.split('\n')[0];
    return h(
      `tr${r.success === false ? '.failed' : ''}`,
      { 'data-run': r.id },
      h('td', {}, r.id),
      h('td', {}, `${r.connector}/${r.accountName}`),
      h('td', {}, when(r.startedAt)),
      h('td', {}, when(r.finishedAt)),
      h(
        'td',
        {},
        r.success === null
          ? h('span.badge.running', {}, 'running')
          : h(
              `span.badge.${r.success ? 'up' : 'down'}`,
              {},
              r.success ? 'ok' : (r.status ?? 'failed').replace('_', ' '),
            ),
      ),
      h('td.num', {}, r.objects),
      h('td.num', {}, r.pages),
      h('td.wrap', {}, detail.includes('\n') ? h('details', {}, h('summary', {}, first), h('pre', {}, detail)) : first),
    );
  }

  function scheduleRow(x) {
    const input = h('input', {
      type: 'text',
      placeholder: '15m or 0 * * * *',
      'aria-label': `schedule of ${x.connector}/${x.name}`,
    });
    const problem = h('span');
    const set = async (body) => {
      problem.replaceChildren();
      try {
        await send('PUT', `/api/accounts/${x.id}/schedule`, body);
        await load();
      } catch (err) {
        problem.replaceChildren(errorBox(err));
      }
    };
    return h(
      'tr',
      { 'data-account': `${x.connector}/${x.name}` },
      h('td', {}, `${x.connector}/${x.name}`),
      h('td', { 'data-role': 'schedule' }, x.schedule ?? 'none'),
      h('td', { 'data-role': 'next-run' }, x.nextRunAt ? when(x.nextRunAt) : ''),
      h(
        'td',
        {},
        input,
        ' ',
        action('Set', () => {
          const v = input.value.trim();
          return set(/\s/.test(v) ? { cron: v } : { every: v });
        }),
        ' ',
        x.schedule ? action('Off', () => set({ off: true })) : '',
        problem,
      ),
    );
  }

  async function loadHistory() {
    try {
      const q = new URLSearchParams({ limit: '100', ...(historyFilter.value ? { account: historyFilter.value } : {}) });
      const { runs } = await api(`/api/runs?${q}`);
      historyBody.replaceChildren(
        ...(runs.length ? runs.map(historyRow) : [emptyRow(historyColumns.length, 'no runs yet')]),
      );
    } catch (err) {
      historyBody.replaceChildren(h('tr', {}, h('td', { colspan: historyColumns.length }, errorBox(err))));
    }
  }

  async function load() {
    try {
      const [a, s] = await Promise.all([api('/api/accounts'), api('/api/sync')]);
      // The bar's 100 %: the last run's objects when it succeeded.
      for (const x of a.accounts) if (x.lastRun?.success) expected.set(x.id, x.lastRun.objects);
      accounts = a.accounts;
      scheduleBody.replaceChildren(
        ...(accounts.length ? accounts.map(scheduleRow) : [emptyRow(scheduleColumns.length, 'no accounts yet')]),
      );
      picks.replaceChildren(
        ...(accounts.length
          ? accounts.map((x) =>
              h(
                'label.pick',
                {},
                h('input', { type: 'checkbox', value: String(x.id), 'aria-label': `sync ${x.connector}/${x.name}` }),
                ` ${x.connector}/${x.name}`,
              ),
            )
          : [h('p.muted', {}, 'no accounts yet (Accounts page)')]),
      );
      historyFilter.replaceChildren(
        h('option', { value: '' }, 'all accounts'),
        ...accounts.map((x) => h('option', { value: String(x.id) }, `${x.connector}/${x.name}`)),
      );
      for (const job of s.jobs) jobs.set(job.id, job);
      renderLive();
    } catch (err) {
      problems.replaceChildren(errorBox(err));
    }
  }

  const off = onLive((frame) => {
    if (frame.type === 'sync-job') {
      jobs.set(frame.job.id, frame.job);
      renderLive();
      if (frame.job.finishedAt) {
        for (const o of frame.job.outcomes ?? []) if (o.run?.success) expected.set(o.accountId, o.run.objects);
        void loadHistory();
      }
    } else if (frame.type === 'sync-progress') {
      const job = jobs.get(frame.job);
      if (!job) return;
      job.progress[String(frame.progress.accountId)] = frame.progress;
      renderLive();
      if (frame.progress.phase === 'started') void loadHistory();
    }
  });
  void load();
  void loadHistory();
  return off;
}
