// Tiny DOM helpers: h('tag.class', {attrs}, ...children). Text is always set as text, never HTML.
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function since(seconds) {
  if (!seconds) return '-';
  return new Date(seconds * 1000).toLocaleString();
}

export function errorBox(err) {
  return h('p.error', { role: 'alert' }, err instanceof Error ? err.message : String(err));
}

/** A button that shows it is busy while its async handler runs and reports a failure next to itself. */
export function action(label, handler, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await handler(b);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/**
 * A button that asks to be clicked twice (no browser dialog): the first click turns it into
 * "Really …?" for four seconds.
 */
export function confirmAction(label, question, handler, attrs = {}) {
  let armed;
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    if (!armed) {
      b.textContent = question;
      b.classList.add('danger');
      armed = setTimeout(() => {
        armed = undefined;
        b.textContent = label;
        b.classList.remove('danger');
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = undefined;
    b.textContent = label;
    b.classList.remove('danger');
    b.disabled = true;
    try {
      await handler(b);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** A labelled form field. */
export function field(label, control, hint) {
  return h('label.field', {}, h('span.label', {}, label), control, hint ? h('span.hint.muted', {}, hint) : '');
}

/** "3.2 s", "850 ms". */
export function duration(ms) {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** An ISO time as local date and time, or ''. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

/** A table with a header row; returns [table, tbody]. */
export function table(columns) {
  const body = h('tbody');
  return [
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', {}, c)),
        ),
      ),
      body,
    ),
    body,
  ];
}

/** A row spanning the table, e.g. "none yet". */
export function emptyRow(columns, text) {
  return h('tr', {}, h('td.muted', { colspan: columns }, text));
}
