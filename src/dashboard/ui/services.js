// Services: every service the hub knows (local, then on other hubs), its instances, commands,
// endpoints, since when, and message rates; a filter and pages of 100 rows (500 services as one
// table cost more to lay out than to fetch). Rows follow `services` frames from /api/live (a frame
// that changes nothing is not rendered again); the rate cells follow `rates` frames (every 2 s,
// counted by the hub) in place.
import { api, onLive } from './api.js';
import { h, since, errorBox } from './dom.js';

const PAGE = 100;
const COLUMNS = [
  'Service',
  'Hub',
  'Status',
  'Since',
  'Instances',
  'Commands',
  'Endpoints',
  'msg/s in',
  'msg/s out',
  'Messages in / out',
  'Dropped',
];

function rate(x) {
  if (x === undefined) return '-';
  return x >= 100 ? String(Math.round(x)) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function servicesPage(root) {
  const body = h('tbody');
  const note = h('span.muted');
  const filter = h('input', { type: 'search', placeholder: 'filter: service, hub or command', 'aria-label': 'filter' });
  const prev = h('button', { type: 'button' }, '‹ Prev');
  const next = h('button', { type: 'button' }, 'Next ›');
  let page = 1;
  let timer;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      page = 1;
      later(true);
    }, 150);
  });
  prev.addEventListener('click', () => {
    if (page > 1) {
      page--;
      later(true);
    }
  });
  next.addEventListener('click', () => {
    page++;
    later(true);
  });
  root.append(
    h('h2', {}, 'Services'),
    h('div.toolbar', {}, filter, prev, note, next),
    h(
      'table.services-table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          COLUMNS.map((t) => h('th', {}, t)),
        ),
      ),
      body,
    ),
  );
  /** Rate cells of local services by name: updated in place. */
  let cells = new Map();
  let rates = {};
  let counts = {};
  let latest;
  let shown = '';
  let scheduled = false;

  function fillRates(name) {
    const c = cells.get(name);
    if (!c) return;
    const r = rates[name];
    const n = counts[name];
    c.in.textContent = rate(r?.in);
    c.out.textContent = rate(r?.out);
    c.total.textContent = n ? `${n.received} / ${n.sent}` : '-';
  }

  /** What a row shows, so an identical frame (every live connect sends one) is not rendered twice. */
  const signature = (services) =>
    services
      .map(
        (x) =>
          `${x.server}/${x.name}/${x.status}/${x.since}/${x.instances.map((i) => `${i.instance}:${i.dropped}:${i.commands.length}`).join(',')}`,
      )
      .join('|');

  function render(force) {
    scheduled = false;
    const services = latest;
    const needle = filter.value.trim().toLowerCase();
    const matching = needle
      ? services.filter(
          (x) =>
            x.name.toLowerCase().includes(needle) ||
            x.server.toLowerCase().includes(needle) ||
            x.instances.some((i) => i.commands.some((c) => c.toLowerCase().includes(needle))),
        )
      : services;
    const pages = Math.max(1, Math.ceil(matching.length / PAGE));
    page = Math.min(page, pages);
    const rows = matching.slice((page - 1) * PAGE, page * PAGE);
    const sig = `${needle}\u0000${page}\u0000${signature(rows)}`;
    const local = services.filter((x) => x.instances.length || x.status === 'down').length;
    note.textContent = `${matching.length === services.length ? '' : `${matching.length} of `}${services.length} services (${local} on this hub) · page ${page} of ${pages}`;
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    if (!force && sig === shown) return;
    shown = sig;
    cells = new Map();
    body.replaceChildren(
      ...rows.map((x) => {
        const localRow = x.instances.length > 0 || counts[x.name] !== undefined;
        const c = { in: h('td.num'), out: h('td.num'), total: h('td.num') };
        if (localRow) cells.set(x.name, c);
        return h(
          'tr',
          { 'data-service': x.name, 'data-server': x.server },
          h('td', {}, x.name),
          h('td', {}, x.server),
          h('td', {}, h(`span.badge.${x.status}`, {}, x.status)),
          h('td', {}, since(x.since)),
          h('td', {}, x.instances.map((i) => i.instance).join(', ') || '-'),
          h('td', {}, [...new Set(x.instances.flatMap((i) => i.commands))].join(' ') || '-'),
          h(
            'td',
            {},
            x.instances
              .filter((i) => i.endpoints !== undefined)
              .map((i) => JSON.stringify(i.endpoints))
              .join('; ') || '-',
          ),
          c.in,
          c.out,
          c.total,
          h('td.num', {}, String(x.instances.reduce((n, i) => n + i.dropped, 0))),
        );
      }),
    );
    for (const name of cells.keys()) fillRates(name);
  }
  let forced = false;
  function later(force = false) {
    forced ||= force;
    if (!latest || scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      const f = forced;
      forced = false;
      render(f);
    });
  }
  const show = (services) => {
    latest = services;
    later();
  };

  api('/api/services').then(
    (r) => {
      counts = r.counts ?? {};
      if (!latest) show(r.services);
      else for (const name of cells.keys()) fillRates(name);
    },
    (err) => root.append(errorBox(err)),
  );
  const off = onLive((frame) => {
    if (frame.type === 'services') show(frame.services);
    else if (frame.type === 'rates') {
      rates = frame.rates;
      counts = frame.counts;
      for (const name of cells.keys()) fillRates(name);
    }
  });
  return () => {
    off();
    clearTimeout(timer);
  };
}
