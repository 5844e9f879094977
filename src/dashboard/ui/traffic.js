// Traffic: the hub's sniff stream, newest first, with a filter (service, command, outcome),
// pause, and the detail of one message. Keeps the last 500 events.
import { onLive, wantTraffic } from './api.js';
import { h } from './dom.js';

const KEEP = 500;

export function trafficPage(root) {
  const events = [];
  let paused = false;
  const filter = h('input', {
    type: 'search',
    placeholder: 'filter: service, command or outcome',
    'aria-label': 'filter',
  });
  const pause = h('button', { type: 'button' }, 'Pause');
  const count = h('span.muted');
  const list = h('tbody');
  const detail = h('pre.detail');
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) render();
  });
  filter.addEventListener('input', () => render());
  root.append(
    h('h2', {}, 'Traffic'),
    h('div.toolbar', {}, filter, pause, count),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Time', 'Outcome', 'From', 'To', 'Command'].map((t) => h('th', {}, t)),
        ),
      ),
      list,
    ),
    detail,
  );

  const field = (m, k) => (m && typeof m === 'object' ? (m[k] ?? '') : '');
  function render() {
    const needle = filter.value.trim().toLowerCase();
    const shown = events.filter(
      (e) =>
        !needle ||
        [
          e.outcome,
          field(e.message, 'command'),
          field(e.message, 'service'),
          field(e.message, 'sent-from-service'),
        ].some((v) => String(v).toLowerCase().includes(needle)),
    );
    count.textContent = `${shown.length} of ${events.length} messages${paused ? ' (paused)' : ''}`;
    list.replaceChildren(
      ...shown.slice(0, 200).map((e) =>
        h(
          'tr.sniffed',
          {
            onclick: () => {
              detail.textContent = JSON.stringify(e, null, 2);
            },
          },
          h('td', {}, new Date(e.at).toLocaleTimeString()),
          h('td', {}, e.outcome),
          h('td', {}, `${field(e.message, 'sent-from-server')}/${field(e.message, 'sent-from-service')}`),
          h('td', {}, `${field(e.message, 'server')}/${field(e.message, 'service')}`),
          h('td', {}, field(e.message, 'command') || String(e.message)),
        ),
      ),
    );
  }
  render();
  wantTraffic(true);
  const stop = onLive((frame) => {
    if (frame.type !== 'sniffed' || paused) return;
    events.unshift(frame.event);
    if (events.length > KEEP) events.length = KEEP;
    render();
  });
  return () => {
    stop();
    wantTraffic(false);
  };
}
