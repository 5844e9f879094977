// Accounts: a connector plus the JSON options one sync of it needs. Create, edit (the options are
// checked as JSON while typing, then by the connector itself on save), sync one, forget its saved
// state (its next sync is a full one), remove.
import { api, send } from './api.js';
import { h, action, confirmAction, errorBox, field, table, emptyRow, when } from './dom.js';

/** Live JSON check of a textarea: returns a hint element kept up to date. */
function jsonHint(textarea) {
  const hint = h('span.hint.muted', { 'data-role': 'json-state' });
  const update = () => {
    try {
      JSON.parse(textarea.value || '{}');
      hint.textContent = 'valid JSON';
      hint.className = 'hint muted';
      textarea.removeAttribute('aria-invalid');
    } catch (err) {
      hint.textContent = err.message;
      hint.className = 'hint invalid';
      textarea.setAttribute('aria-invalid', 'true');
    }
  };
  textarea.addEventListener('input', update);
  update();
  return hint;
}

const pretty = (text) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

/** The options form shared by create and edit; `save(values)` throws ApiErrors that land inline. */
function accountForm({ title, connectors, account, submit, cancel }) {
  const connector = h(
    'select',
    { 'aria-label': 'connector', disabled: Boolean(account) },
    connectors.map((c) => h('option', { value: c.name }, c.name)),
  );
  if (account) connector.value = account.connector;
  const name = h('input', { type: 'text', 'aria-label': 'account name', value: account?.name ?? '' });
  const options = h('textarea.code', { rows: 6, 'aria-label': 'options', spellcheck: 'false' });
  options.value = account ? pretty(account.options) : '{\n  \n}';
  const hint = jsonHint(options);
  const check = h('input', { type: 'checkbox', checked: true, 'aria-label': 'check the options with the connector' });
  const optionsError = h('div.inline-error', { 'data-role': 'options-error' });
  const formError = h('div');
  const result = h('p.muted');
  const save = action(
    account ? 'Save' : 'Create',
    async () => {
      optionsError.replaceChildren();
      formError.replaceChildren();
      result.textContent = check.checked ? 'checking the options with the connector…' : '';
      try {
        const r = await submit({
          connector: connector.value,
          name: name.value.trim(),
          options: options.value,
          check: check.checked,
        });
        result.textContent = r.check
          ? r.check.supported
            ? 'saved; the connector accepted the options'
            : `saved; ${r.check.message}`
          : 'saved (options not checked)';
      } catch (err) {
        result.textContent = '';
        (err.data?.field === 'options' ? optionsError : formError).replaceChildren(errorBox(err));
      }
    },
    { class: 'primary' },
  );
  return h(
    'section.panel',
    { 'data-form': account ? 'edit' : 'create' },
    h('h3', {}, title),
    h(
      'div.form',
      {},
      field('Connector', connector),
      field('Name', name),
      field('Options', options, hint),
      optionsError,
      h('label.check', {}, check, ' check them with the connector before saving'),
      h('div.buttons', {}, save, cancel ? h('button', { type: 'button', onclick: cancel }, 'Cancel') : ''),
    ),
    formError,
    result,
  );
}

export function accountsPage(root) {
  const columns = ['Id', 'Connector', 'Name', 'Options', 'State', 'Last sync', ''];
  const [list, body] = table(columns);
  const problems = h('div');
  const editor = h('div');
  const creator = h('div');
  let connectors = [];
  root.append(h('h2', {}, 'Accounts'), problems, list, editor, creator);

  function showCreate() {
    if (!connectors.length) {
      creator.replaceChildren(h('p.muted', {}, 'Install a connector first (Connectors page).'));
      return;
    }
    creator.replaceChildren(
      accountForm({
        title: 'New account',
        connectors,
        submit: async (v) => {
          const r = await send('POST', '/api/accounts', v);
          await load();
          return r;
        },
      }),
    );
  }

  function edit(a) {
    editor.replaceChildren(
      accountForm({
        title: `Edit ${a.connector}/${a.name}`,
        connectors,
        account: a,
        submit: async (v) => {
          const r = await send('PUT', `/api/accounts/${a.id}`, { name: v.name, options: v.options, check: v.check });
          await load();
          return r;
        },
        cancel: () => editor.replaceChildren(),
      }),
    );
    editor.scrollIntoView({ block: 'nearest' });
  }

  function lastRun(r) {
    if (!r) return h('span.muted', {}, 'never');
    if (r.success === null) return h('span.badge', {}, 'running');
    return h(
      'span',
      {},
      h(`span.badge.${r.success ? 'up' : 'down'}`, {}, r.success ? 'ok' : 'failed'),
      ` ${when(r.finishedAt)} · ${r.objects} objects`,
    );
  }

  /** What the connector checkpointed (the next sync resumes from it), with a button to forget it. */
  function stateCell(a, status) {
    if (a.state === null) return h('span.muted', { 'data-role': 'state' }, 'none: the next sync is a full one');
    const reset = confirmAction('Reset state', 'Really forget it (a full sync next)?', async () => {
      try {
        await send('POST', `/api/accounts/${a.id}/reset-state`);
        await load();
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    const preview = a.state.length > 60 ? `${a.state.slice(0, 60)}…` : a.state;
    return h(
      'span',
      { 'data-role': 'state' },
      h('code.options', { title: a.state }, preview),
      ` saved ${when(a.stateUpdatedAt)} `,
      reset,
    );
  }

  function row(a, run) {
    const status = h('span');
    const sync = action('Sync', async () => {
      try {
        await send('POST', '/api/sync', { accounts: [String(a.id)] });
        location.hash = '#sync';
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    const remove = confirmAction('Remove', 'Really remove (and its data)?', async () => {
      try {
        await send('DELETE', `/api/accounts/${a.id}`);
        await load();
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    return h(
      'tr',
      { 'data-account': `${a.connector}/${a.name}` },
      h('td', {}, a.id),
      h('td', {}, a.connector),
      h('td', {}, h('strong', {}, a.name)),
      h('td', {}, h('code.options', {}, a.options)),
      h('td', {}, stateCell(a, status)),
      h('td', {}, lastRun(run)),
      h(
        'td.actions',
        {},
        h('button', { type: 'button', onclick: () => edit(a) }, 'Edit'),
        ' ',
        sync,
        ' ',
        remove,
        status,
      ),
    );
  }

  async function load() {
    try {
      const [{ accounts }, c] = await Promise.all([api('/api/accounts'), api('/api/connectors')]);
      const fresh = connectors.length !== c.connectors.length;
      connectors = c.connectors;
      problems.replaceChildren();
      body.replaceChildren(
        ...(accounts.length
          ? accounts.map((a) => row(a, a.lastRun))
          : [emptyRow(columns.length, 'no accounts yet: create one below')]),
      );
      if (fresh || !creator.firstChild) showCreate();
    } catch (err) {
      problems.replaceChildren(errorBox(err));
    }
  }
  void load();
}
