// Connectors: the installed sync connectors; install one (a bundled example, manifest JSON, or a
// URL / path, with an optional name override), update one, remove one (with its accounts on request).
import { api, send, onLive } from './api.js';
import { h, action, confirmAction, errorBox, field, table, emptyRow, when } from './dom.js';

const SAMPLE = `{
  "name": "my-connector",
  "description": "what it syncs",
  "source": "Local",
  "uri": "/path/to/connector",
  "install_command": "",
  "command": "./connector"
}`;

/** Runs `call(progressId)` while appending the live output frames of that id to `pre`. */
async function withLiveOutput(pre, call) {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const off = onLive((frame) => {
    if (frame.type === 'connector-output' && frame.progress === id) pre.textContent += frame.text;
  });
  try {
    return await call(id);
  } finally {
    off();
  }
}

export function connectorsPage(root) {
  const columns = ['Name', 'Source', 'URI', 'Description', 'Updated', ''];
  const [list, body] = table(columns);
  const problems = h('div');

  // The install form: one of three kinds of input.
  const kind = h(
    'select',
    { 'aria-label': 'install from' },
    h('option', { value: 'example' }, 'a bundled example'),
    h('option', { value: 'json' }, 'manifest JSON'),
    h('option', { value: 'location' }, 'a URL or a path'),
  );
  const example = h('select', { 'aria-label': 'example' });
  const json = h('textarea.code', { rows: 9, 'aria-label': 'manifest JSON', spellcheck: 'false' });
  json.value = SAMPLE;
  const location = h('input', {
    type: 'text',
    placeholder: 'https://…/manifest.json, /path/to/manifest.json or a folder holding one',
    'aria-label': 'manifest URL or path',
  });
  const name = h('input', { type: 'text', placeholder: "the manifest's", 'aria-label': 'install as name' });
  const jsonState = h('span.hint.muted');
  const inputs = {
    example: field('Example', example),
    json: field('Manifest', json, jsonState),
    location: field('URL or path', location),
  };
  const formError = h('div');
  const output = h('pre.output');
  const install = action(
    'Install',
    async () => {
      formError.replaceChildren();
      output.textContent = '';
      const body = { ...(name.value.trim() ? { name: name.value.trim() } : {}) };
      if (kind.value === 'example') body.example = example.value;
      else if (kind.value === 'json') body.manifest = json.value;
      else body.manifest = location.value.trim();
      try {
        const r = await withLiveOutput(output, (progress) => send('POST', '/api/connectors', { ...body, progress }));
        output.textContent = r.output;
        name.value = '';
        await load();
      } catch (err) {
        formError.replaceChildren(errorBox(err)); // the output so far stays: it shows what failed
      }
    },
    { class: 'primary' },
  );
  const showKind = () => {
    for (const [k, el] of Object.entries(inputs)) el.hidden = k !== kind.value;
  };
  kind.addEventListener('change', showKind);
  json.addEventListener('input', () => {
    try {
      JSON.parse(json.value);
      jsonState.textContent = 'valid JSON';
      jsonState.className = 'hint muted';
    } catch (err) {
      jsonState.textContent = err.message;
      jsonState.className = 'hint invalid';
    }
  });
  showKind();

  root.append(
    h('h2', {}, 'Connectors'),
    problems,
    list,
    h(
      'section.panel',
      {},
      h('h3', {}, 'Install a connector'),
      h(
        'div.form',
        {},
        field('From', kind),
        inputs.example,
        inputs.json,
        inputs.location,
        field('Name', name, 'optional: install under another name'),
        h('div.buttons', {}, install),
      ),
      formError,
      output,
    ),
  );

  // Each connector's status (update output, errors) outlives the table's reloads.
  const statuses = new Map();
  function row(c) {
    const status = statuses.get(c.name) ?? h('div');
    statuses.set(c.name, status);
    const update = action('Update', async () => {
      const pre = h('pre.output');
      status.replaceChildren(pre);
      try {
        const r = await withLiveOutput(pre, (progress) =>
          send('POST', `/api/connectors/${encodeURIComponent(c.name)}/update`, { progress }),
        );
        pre.textContent = r.output;
        await load(false);
      } catch (err) {
        status.append(errorBox(err));
      }
    });
    // Edit: the manifest as JSON (GET /api/connectors/:name), changed and saved back (PUT).
    const edit = action('Edit', async () => {
      const text = h('textarea.code', { rows: 12, 'aria-label': `manifest of ${c.name}`, spellcheck: 'false' });
      const pre = h('pre.output');
      const problem = h('div');
      const save = action(
        'Save',
        async () => {
          problem.replaceChildren();
          try {
            const r = await withLiveOutput(pre, (progress) =>
              send('PUT', `/api/connectors/${encodeURIComponent(c.name)}`, { manifest: text.value, progress }),
            );
            pre.textContent = r.output;
            await load(false);
          } catch (err) {
            problem.replaceChildren(errorBox(err));
          }
        },
        { class: 'primary' },
      );
      try {
        const { manifest } = await api(`/api/connectors/${encodeURIComponent(c.name)}`);
        text.value = JSON.stringify(manifest, null, 2);
        status.replaceChildren(h('div.form', { 'data-role': 'edit' }, text, h('div.buttons', {}, save)), problem, pre);
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    const remove = (force) => async () => {
      try {
        await send('DELETE', `/api/connectors/${encodeURIComponent(c.name)}${force ? '?force=true' : ''}`);
        statuses.delete(c.name);
        await load();
      } catch (err) {
        status.replaceChildren(errorBox(err));
        if (err.code === 'CONFLICT' && !force)
          status.append(confirmAction('Remove with its accounts and data', 'Really remove them all?', remove(true)));
      }
    };
    return [
      h(
        'tr',
        { 'data-connector': c.name },
        h('td', {}, h('strong', {}, c.name)),
        h('td', {}, c.protocol === 'airbyte' ? `${c.source} (Airbyte)` : c.source),
        h('td.wrap', {}, c.uri),
        h('td', {}, c.description),
        h('td', {}, when(c.updatedAt)),
        h('td.actions', {}, edit, ' ', update, ' ', confirmAction('Remove', 'Really remove?', remove(false))),
      ),
      h('tr.status', {}, h('td', { colspan: columns.length }, status)),
    ];
  }

  async function load(clear = true) {
    try {
      const { connectors } = await api('/api/connectors');
      if (clear) problems.replaceChildren();
      body.replaceChildren(
        ...(connectors.length
          ? connectors.flatMap(row)
          : [emptyRow(columns.length, 'no connectors installed yet: install one below')]),
      );
    } catch (err) {
      problems.replaceChildren(errorBox(err));
    }
  }

  api('/api/examples').then(
    ({ examples }) =>
      example.append(...examples.map((e) => h('option', { value: e.name }, `${e.name}: ${e.description}`))),
    (err) => problems.replaceChildren(errorBox(err)),
  );
  void load();
}
