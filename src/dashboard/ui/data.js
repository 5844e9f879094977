// Data: the synced objects, searched and filtered server-side, pages of 50, notes edited in place.
import { api, onLive } from './api.js';
import { h, errorBox, when } from './dom.js';

export function dataPage(root) {
  const state = { search: '', account: '', connector: '', order: 'synced', asc: false, page: 1 };
  const search = h('input', { type: 'search', placeholder: 'search', 'aria-label': 'search' });
  const account = h('select', { 'aria-label': 'account' }, h('option', { value: '' }, 'all accounts'));
  const connector = h('select', { 'aria-label': 'connector' }, h('option', { value: '' }, 'all connectors'));
  const order = h(
    'select',
    { 'aria-label': 'order' },
    ['synced', 'name', 'remote-id', 'id', 'connector'].map((o) => h('option', { value: o }, `by ${o}`)),
  );
  const direction = h(
    'button',
    { type: 'button', 'aria-label': 'direction', title: 'ascending or descending' },
    '↓ desc',
  );
  const prev = h('button', { type: 'button' }, '‹ Prev');
  const next = h('button', { type: 'button' }, 'Next ›');
  const info = h('span.muted');
  const body = h('tbody');
  const problems = h('div');
  // Not reloaded by itself when a sync ends: that would drop a note being typed.
  const fresh = h(
    'p.notice',
    { hidden: true, 'data-role': 'fresh' },
    'A sync finished since this page was loaded. ',
    h('button', { type: 'button', onclick: () => void load() }, 'Refresh'),
  );
  root.append(
    h('h2', {}, 'Data'),
    h('div.toolbar', {}, search, account, connector, order, direction, prev, info, next),
    fresh,
    problems,
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Id', 'Connector', 'Remote id', 'Name', 'URI', 'Synced', 'Notes'].map((t) => h('th', {}, t)),
        ),
      ),
      body,
    ),
  );

  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.search = search.value.trim();
      state.page = 1;
      void load();
    }, 250);
  });
  for (const [el, key] of [
    [account, 'account'],
    [connector, 'connector'],
    [order, 'order'],
  ])
    el.addEventListener('change', () => {
      state[key] = el.value;
      state.page = 1;
      void load();
    });
  direction.addEventListener('click', () => {
    state.asc = !state.asc;
    direction.textContent = state.asc ? '↑ asc' : '↓ desc';
    state.page = 1;
    void load();
  });
  prev.addEventListener('click', () => {
    if (state.page > 1) {
      state.page--;
      void load();
    }
  });
  next.addEventListener('click', () => {
    state.page++;
    void load();
  });

  function noteCell(o) {
    const input = h('input.note', { value: o.notes ?? '', 'aria-label': `note for ${o.remoteId}` });
    const status = h('span.muted');
    input.addEventListener('change', async () => {
      try {
        await api(`/api/data/${o.id}/note`, { method: 'PUT', body: JSON.stringify({ notes: input.value }) });
        status.textContent = ' saved';
      } catch (err) {
        status.textContent = ` ${err.message}`;
      }
    });
    return h('td', {}, input, status);
  }

  async function load() {
    const q = new URLSearchParams({
      page: String(state.page),
      order: state.order,
      ...(state.asc ? { asc: 'true' } : {}),
    });
    for (const k of ['search', 'account', 'connector']) if (state[k]) q.set(k, state[k]);
    try {
      const page = await api(`/api/data?${q}`);
      problems.replaceChildren();
      fresh.hidden = true;
      if (page.pages && state.page > page.pages) {
        state.page = page.pages;
        return load();
      }
      info.textContent = `page ${page.page} of ${Math.max(page.pages, 1)} · ${page.total} objects`;
      prev.disabled = page.page <= 1;
      next.disabled = page.page >= page.pages;
      body.replaceChildren(
        ...page.items.map((o) =>
          h(
            'tr',
            { 'data-id': o.id },
            h('td', {}, o.id),
            h('td', {}, o.connector),
            h('td', {}, o.remoteId),
            h('td', { title: o.metadata || '' }, o.resourceName ?? ''),
            h('td.wrap', {}, o.uri ?? ''),
            h('td', { title: o.lastSyncedAt ?? '' }, when(o.lastSyncedAt)),
            noteCell(o),
          ),
        ),
      );
    } catch (err) {
      problems.replaceChildren(errorBox(err));
    }
  }

  Promise.all([api('/api/accounts'), api('/api/connectors')]).then(
    ([a, c]) => {
      account.append(
        ...a.accounts.map((x) => h('option', { value: `${x.connector}/${x.name}` }, `${x.connector}/${x.name}`)),
      );
      connector.append(...c.connectors.map((x) => h('option', { value: x.name }, x.name)));
    },
    (err) => problems.replaceChildren(errorBox(err)),
  );
  void load();
  const off = onLive((frame) => {
    if (frame.type === 'sync-job' && frame.job.finishedAt) fresh.hidden = false;
  });
  return () => {
    clearTimeout(timer);
    off();
  };
}
