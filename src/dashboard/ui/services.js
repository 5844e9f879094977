// Services: every service the hub knows, its instances, commands, endpoints and since when.
import { api, onLive } from './api.js';
import { h, since, errorBox } from './dom.js';

export function servicesPage(root) {
  const table = h('table', {}, h('thead', {}, h('tr', {}, ['Service', 'Hub', 'Status', 'Since', 'Instances', 'Commands', 'Endpoints', 'Dropped'].map((t) => h('th', {}, t)))));
  const body = h('tbody');
  table.append(body);
  root.append(h('h2', {}, 'Services'), table);
  const render = (services) => body.replaceChildren(...services.map((s) => h('tr', { 'data-service': s.name },
    h('td', {}, s.name), h('td', {}, s.server), h('td', {}, h(`span.badge.${s.status}`, {}, s.status)), h('td', {}, since(s.since)),
    h('td', {}, s.instances.map((i) => i.instance).join(', ') || '-'),
    h('td', {}, [...new Set(s.instances.flatMap((i) => i.commands))].join(' ') || '-'),
    h('td', {}, s.instances.filter((i) => i.endpoints !== undefined).map((i) => JSON.stringify(i.endpoints)).join('; ') || '-'),
    h('td', {}, String(s.instances.reduce((n, i) => n + i.dropped, 0))))));
  api('/api/services').then((r) => render(r.services), (err) => root.append(errorBox(err)));
  return onLive((frame) => { if (frame.type === 'services') render(frame.services); });
}
