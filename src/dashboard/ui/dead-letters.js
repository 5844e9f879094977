// Dead letters: what the dispatcher set aside on RabbitMQ (`switchboard trigger dead`), oldest first,
// with why. Once the cause is fixed (the connector registered, the token issued, the trigger
// corrected), Replay sends a letter back to the dispatcher, "Replay all" every one (a second click
// confirms); what happened shows above the table, and a letter that stays shows why in its row.
// Looking takes the letters off the queue for a moment, so the page looks when opened and on
// Refresh, not on a timer (a `trigger replay --dead` elsewhere would miss what it holds).
import { api, send } from './api.js';
import { h, action, confirmAction, errorBox, table, emptyRow, when } from './dom.js';

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** What the letter carries: its events (key and id), or how many results, or its type. */
function carries(l) {
  if (l.events.length) {
    const shown = l.events.slice(0, 5);
    const rest = (l.items ?? l.events.length) - shown.length;
    return h(
      'div',
      {},
      shown.map((e) => h('div', { 'data-role': 'event' }, h('b', {}, e.key), ' ', h('code', {}, e.id))),
      rest > 0 ? h('div.muted', {}, `+${rest} more`) : '',
    );
  }
  if (l.items !== null) return `${l.items} ${l.type ?? 'item'}`;
  return l.type ?? '';
}

export function deadLettersPage(root) {
  const columns = ['Set aside', 'Letter', 'Connector', 'Events', 'Reason', 'Size', 'Replays', ''];
  const [list, body] = table(columns);
  const count = h('span.muted', { 'data-role': 'count' });
  const outcome = h('ul.problems', { 'data-role': 'outcome', 'aria-live': 'polite' });
  const intro = h(
    'p.muted',
    {},
    'Messages the dispatcher could not take, with why. Fix the cause (register the connector, issue its token, correct the trigger), then replay: each goes back to the dispatcher. ',
    h('a', { href: '#executions' }, 'Failed executions'),
    ' are replayed on the Executions page.',
  );
  const noBroker = h('p.panel', { 'data-role': 'no-broker', hidden: true });
  /** Why a letter stayed, shown in its row until it goes. */
  const kept = new Map();
  let letters = [];

  const replayAll = confirmAction('Replay all', 'Really replay every letter?', () => replay({ all: true }), {
    hidden: true,
  });
  root.append(
    h('h2', {}, 'Dead letters'),
    intro,
    noBroker,
    h('div.toolbar', {}, h('button', { type: 'button', onclick: () => void load() }, 'Refresh'), replayAll, count),
    outcome,
    list,
  );

  /** Sends letters back; says what happened above the table and in the rows that stay. */
  async function replay(choice) {
    let out;
    try {
      out = await send('POST', '/api/dead-letters/replay', choice);
    } catch (err) {
      // 404/409 still say what happened to each letter (data); anything else is one sentence.
      if (!err.data?.replayed) {
        outcome.replaceChildren(h('li', {}, errorBox(err)));
        return;
      }
      out = err.data;
    }
    const lines = [];
    for (const l of out.replayed) {
      kept.delete(l.id);
      lines.push(
        h(
          'li',
          { 'data-outcome': 'replayed' },
          `replayed ${l.id} (${l.type ?? 'message'} from ${l.connectorId ?? '?'})`,
        ),
      );
    }
    for (const { letter, reason } of out.refused) {
      kept.set(letter.id, reason);
      lines.push(h('li.error-text', { 'data-outcome': 'kept' }, `${letter.id} kept: ${reason}`));
    }
    for (const id of out.missing)
      lines.push(h('li.error-text', { 'data-outcome': 'missing' }, `no dead letter ${id} (replayed already?)`));
    if (!lines.length) lines.push(h('li', {}, 'no dead letters to replay'));
    outcome.replaceChildren(...lines);
    await load();
  }

  function row(l) {
    const b = action('Replay', () => replay({ ids: [l.id] }), { 'aria-label': `replay ${l.id}` });
    const why = kept.get(l.id);
    return h(
      'tr.failed',
      { 'data-letter': l.id },
      h('td', {}, when(l.at) || h('span.muted', {}, 'unknown')),
      h('td', {}, h('code', {}, l.id), l.route ? h('div.muted', {}, l.route) : ''),
      h('td', {}, l.connectorId ?? '', l.kind ? h('div.muted', {}, l.kind) : ''),
      h('td', {}, carries(l)),
      h('td.wrap', {}, l.reason, why ? h('div.error-text', { 'data-role': 'kept' }, `kept: ${why}`) : ''),
      h('td.num', {}, l.truncated ? `${size(l.bytes)} of ${size(l.originalBytes ?? 0)} (cut)` : size(l.bytes)),
      h('td.num', {}, String(l.replays)),
      h('td.actions', {}, b),
    );
  }

  async function load() {
    try {
      const view = await api('/api/dead-letters');
      if (view.queue === null) {
        noBroker.hidden = false;
        noBroker.textContent = view.why;
        list.hidden = true;
        replayAll.hidden = true;
        count.textContent = '';
        return;
      }
      noBroker.hidden = true;
      list.hidden = false;
      letters = view.letters;
      for (const id of [...kept.keys()]) if (!letters.some((l) => l.id === id)) kept.delete(id);
      count.textContent = `${letters.length} of ${view.total} in ${view.queue}`;
      replayAll.hidden = letters.length === 0;
      body.replaceChildren(...(letters.length ? letters.map(row) : [emptyRow(columns.length, 'no dead letters')]));
    } catch (err) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: columns.length }, errorBox(err))));
    }
  }

  void load();
  return () => {};
}
