// Triggers: list, enable/disable, remove; create or edit from YAML/JSON text. The server validates
// (parseTriggers) and its problems show under the editor with their line; clicking one selects it.
import { api, send } from './api.js';
import { h, action, confirmAction, errorBox, table, emptyRow, when } from './dom.js';

const TEMPLATE = `name: big-order
description: orders of 100 or more go to the notifier
when: { kind: webhook, event: request }     # or connector: ID; event may be "*"
filters:
  - { path: body.amount, op: gte, value: 100 }   # eq ne gt gte lt lte in include exists regex
then:
  kind: http-request
  task: request
  inputs:
    url: http://127.0.0.1:8080/notify
    body: { $ref: data.body }
`;

const target = (t) =>
  t ? (t.sync !== undefined ? `sync ${t.sync}` : t.kind ? `kind ${t.kind}` : `connector ${t.connector}`) : '';
/** What a trigger's then does, with its tries and emit when it sets them. */
const describeThen = (t) =>
  [
    t.sync !== undefined ? target(t) : `${target(t)} · ${t.task ?? ''}`,
    t.attempts > 1 ? `${t.attempts} tries` : '',
    t.timeout ? `timeout ${t.timeout}` : '',
    t.emit ? `emits ${t.emit}` : '',
  ]
    .filter(Boolean)
    .join(' · ');

export function triggersPage(root) {
  const columns = ['Name', 'Enabled', 'When', 'Filters', 'Then', 'Updated', ''];
  const [list, body] = table(columns);
  const problems = h('div');
  const editorSlot = h('div');
  const add = h('button', { type: 'button', class: 'primary', onclick: () => openEditor() }, 'New trigger');
  root.append(h('h2', {}, 'Triggers'), h('div.toolbar', {}, add), problems, list, editorSlot);

  /** The editor: `name` undefined for a new trigger. */
  function openEditor(name, text = TEMPLATE) {
    const editor = h('textarea.code', {
      rows: Math.max(12, text.split('\n').length + 2),
      'aria-label': 'trigger text',
      spellcheck: 'false',
    });
    editor.value = text;
    const replace = h('input', { type: 'checkbox', 'aria-label': 'replace triggers with the same name' });
    const list = h('ul.problems', { 'data-role': 'problems' });
    const state = h('p.muted', { 'data-role': 'state' });
    const selectLine = (line) => {
      const lines = editor.value.split('\n');
      const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      editor.focus();
      editor.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    };
    const showError = (err) => {
      const found = err.data?.problems;
      state.textContent = '';
      if (Array.isArray(found)) {
        list.replaceChildren(
          ...found.map((p) =>
            h(
              'li',
              { 'data-line': p.line },
              h(
                'a',
                {
                  href: '#triggers',
                  onclick: (e) => {
                    e.preventDefault();
                    selectLine(p.line);
                  },
                },
                `line ${p.line}`,
              ),
              p.field ? ` ${p.field}: ` : ' ',
              p.message,
            ),
          ),
        );
        state.replaceChildren(
          h('span.invalid', {}, `${found.length} problem${found.length === 1 ? '' : 's'}: nothing was saved`),
        );
      } else list.replaceChildren(h('li', {}, errorBox(err)));
    };
    const submit = async (check) => {
      list.replaceChildren();
      state.textContent = check ? 'validating…' : 'saving…';
      try {
        if (check) {
          const r = await send('POST', '/api/triggers', { text: editor.value, check: true });
          state.textContent = `valid: ${r.valid.join(', ')}`;
        } else if (name) {
          const r = await send('PUT', `/api/triggers/${encodeURIComponent(name)}`, { text: editor.value });
          state.textContent = `saved ${r.trigger.name}`;
          await load();
          if (r.trigger.name !== name) openEditor(r.trigger.name, r.text);
        } else {
          const r = await send('POST', '/api/triggers', { text: editor.value, replace: replace.checked });
          state.textContent = [
            r.added.length ? `added ${r.added.join(', ')}` : '',
            r.replaced.length ? `replaced ${r.replaced.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; ');
          await load();
        }
      } catch (err) {
        showError(err);
      }
    };
    editorSlot.replaceChildren(
      h(
        'section.panel',
        { 'data-form': name ? 'edit' : 'create' },
        h('h3', {}, name ? `Edit ${name}` : 'New trigger'),
        h(
          'p.muted',
          {},
          name
            ? 'YAML or JSON; without an enabled line the trigger keeps its state; a new name renames it.'
            : 'YAML or JSON: one trigger, a list, or { triggers: [...] }.',
        ),
        editor,
        list,
        h(
          'div.buttons',
          {},
          action('Validate', () => submit(true)),
          action(name ? 'Save' : 'Create', () => submit(false), { class: 'primary' }),
          name ? '' : h('label.check', {}, replace, ' replace same names'),
          h('button', { type: 'button', onclick: () => editorSlot.replaceChildren() }, 'Close'),
        ),
        state,
      ),
    );
    editor.focus();
  }

  function row(t) {
    const status = h('span');
    const enabled = h('input', { type: 'checkbox', checked: t.enabled, 'aria-label': `${t.name} enabled` });
    const state = h('span', { 'data-role': 'enabled' }, t.enabled ? ' enabled' : ' disabled');
    enabled.addEventListener('change', async () => {
      enabled.disabled = true;
      status.replaceChildren();
      try {
        const r = await send('PUT', `/api/triggers/${encodeURIComponent(t.name)}/enabled`, {
          enabled: enabled.checked,
        });
        state.textContent = r.trigger.enabled ? ' enabled' : ' disabled';
      } catch (err) {
        enabled.checked = !enabled.checked;
        status.replaceChildren(errorBox(err));
      }
      enabled.disabled = false;
    });
    const edit = action('Edit', async () => {
      try {
        const r = await api(`/api/triggers/${encodeURIComponent(t.name)}`);
        openEditor(t.name, r.text);
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    const remove = confirmAction('Remove', 'Really remove?', async () => {
      try {
        await send('DELETE', `/api/triggers/${encodeURIComponent(t.name)}`);
        await load();
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    const s = t.spec;
    return h(
      'tr',
      { 'data-trigger': t.name },
      h('td', {}, h('strong', {}, t.name), s.description ? h('div.muted', {}, s.description) : ''),
      h('td', {}, h('label', {}, enabled, state), status),
      h('td', {}, `${target(s.when)} · ${s.when?.event ?? ''}`),
      h(
        'td',
        {},
        (s.filters ?? []).map((f) =>
          h('div', {}, h('code', {}, `${f.path} ${f.op}${f.value === undefined ? '' : ` ${JSON.stringify(f.value)}`}`)),
        ),
      ),
      h('td', {}, s.then ? describeThen(s.then) : ''),
      h('td', {}, when(t.updatedAt)),
      h('td.actions', {}, edit, ' ', remove),
    );
  }

  async function load() {
    try {
      const { triggers } = await api('/api/triggers');
      problems.replaceChildren();
      body.replaceChildren(...(triggers.length ? triggers.map(row) : [emptyRow(columns.length, 'no triggers yet')]));
    } catch (err) {
      problems.replaceChildren(errorBox(err));
    }
  }
  void load();
}
