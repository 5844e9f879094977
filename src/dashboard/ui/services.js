// Services: every service the hub knows (local, then on other hubs), its instances, commands,
// endpoints, since when, and message rates. Rows follow `services` frames from /api/live; the
// rate cells follow `rates` frames (every 2 s, counted by the hub) without rebuilding the table.
import { api, onLive } from './api.js';
import { h, since, errorBox } from './dom.js';

const COLUMNS = ['Service', 'Hub', 'Status', 'Since', 'Instances', 'Commands', 'Endpoints', 'msg/s in', 'msg/s out', 'Messages in / out', 'Dropped'];

function rate(x) {
  if (x === undefined) return '-';
  return x >= 100 ? String(Math.round(x)) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function servicesPage(root) {
  const body = h('tbody');
  const note = h('span.muted');
  root.append(h('h2', {}, 'Services'), h('div.toolbar', {}, note),
    h('table.services-table', {}, h('thead', {}, h('tr', {}, COLUMNS.map((t) => h('th', {}, t)))), body));
  /** Rate cells of local services by name: updated in place. */
  let cells = new Map();
  let rates = {};
  let counts = {};
  let latest;
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

  function render() {
    scheduled = false;
    const services = latest;
    const local = services.filter((x) => x.instances.length || x.status === 'down').length;
    note.textContent = `${services.length} services (${local} on this hub)`;
    cells = new Map();
    body.replaceChildren(...services.map((x) => {
      const localRow = x.instances.length > 0 || counts[x.name] !== undefined;
      const c = { in: h('td.num'), out: h('td.num'), total: h('td.num') };
      if (localRow) cells.set(x.name, c);
      return h('tr', { 'data-service': x.name, 'data-server': x.server },
        h('td', {}, x.name), h('td', {}, x.server), h('td', {}, h(`span.badge.${x.status}`, {}, x.status)), h('td', {}, since(x.since)),
        h('td', {}, x.instances.map((i) => i.instance).join(', ') || '-'),
        h('td', {}, [...new Set(x.instances.flatMap((i) => i.commands))].join(' ') || '-'),
        h('td', {}, x.instances.filter((i) => i.endpoints !== undefined).map((i) => JSON.stringify(i.endpoints)).join('; ') || '-'),
        c.in, c.out, c.total,
        h('td.num', {}, String(x.instances.reduce((n, i) => n + i.dropped, 0))));
    }));
    for (const name of cells.keys()) fillRates(name);
  }
  const show = (services) => {
    latest = services;
    if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
  };

  api('/api/services').then((r) => { counts = r.counts ?? {}; if (!latest) show(r.services); }, (err) => root.append(errorBox(err)));
  return onLive((frame) => {
    if (frame.type === 'services') show(frame.services);
    else if (frame.type === 'rates') {
      rates = frame.rates;
      counts = frame.counts;
      for (const name of cells.keys()) fillRates(name);
    }
  });
}
