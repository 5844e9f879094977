// Network: the hubs of the cluster as an SVG graph (nodes, links: solid when both ends report
// the link, dashed when only one does), then the services of each hub with their instances and
// status. Live: `services` frames on registry changes (here and, through the mesh, on other
// hubs) and `cluster` frames on every mesh change (links, hubs) from /api/live; no polling.
import { api, onLive } from './api.js';
import { h, since, errorBox } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 300;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Hubs as {name, address, reachable, self, links}; edges as {a, b, both}. */
function model(cluster) {
  const mesh = cluster.mesh;
  if (!mesh)
    return {
      hubs: [
        {
          name: cluster.server,
          address: cluster.addresses.map((a) => a.url).join(' '),
          reachable: true,
          self: true,
          links: [],
        },
      ],
      edges: [],
    };
  const hubs = mesh.hubs.map((x) => ({
    name: x.name,
    address: x.address,
    reachable: x.name === cluster.server || x.reachable,
    self: x.name === cluster.server,
    links: x.links ?? [],
  }));
  if (!hubs.some((x) => x.self))
    hubs.unshift({ name: cluster.server, address: mesh.address, reachable: true, self: true, links: [] });
  const self = hubs.find((x) => x.self);
  // This hub's live links are known first-hand, whatever its last flooded state says.
  self.links = [...new Set([...self.links, ...mesh.links.map((l) => l.server)])];
  const byName = new Map(hubs.map((x) => [x.name, x]));
  const edges = new Map();
  for (const a of hubs) {
    // An unreachable hub's last report is stale: its links are not drawn.
    if (!a.reachable) continue;
    for (const b of a.links) {
      if (!byName.has(b) || a.name === b) continue;
      const key = [a.name, b].sort().join('\u0000');
      const other = byName.get(b);
      const both = other.reachable && other.links.includes(a.name);
      const [x, y] = [a.name, b].sort();
      edges.set(key, { a: x, b: y, both: both || edges.get(key)?.both || false });
    }
  }
  return { hubs, edges: [...edges.values()] };
}

function graph(m, servicesOf) {
  const n = m.hubs.length;
  // Self on top, the others around a circle in name order.
  const ordered = [
    m.hubs.find((x) => x.self),
    ...m.hubs.filter((x) => !x.self).sort((a, b) => a.name.localeCompare(b.name)),
  ];
  const r = n === 1 ? 0 : Math.min(W, H) / 2 - 48;
  const pos = new Map(
    ordered.map((x, i) => [
      x.name,
      { x: W / 2 + r * Math.sin((2 * Math.PI * i) / n), y: H / 2 - r * Math.cos((2 * Math.PI * i) / n) },
    ]),
  );
  // Styled by attributes: the page needs no stylesheet of its own.
  const svg = s('svg', {
    class: 'graph',
    viewBox: `0 0 ${W} ${H}`,
    width: '100%',
    style: `max-width:${W}px;background:#fff;border:1px solid #d6dae2;border-radius:.5rem;margin-bottom:1rem`,
    role: 'img',
    'aria-label': `${n} hub${n === 1 ? '' : 's'}, ${m.edges.length} link${m.edges.length === 1 ? '' : 's'}`,
  });
  for (const e of m.edges) {
    const p = pos.get(e.a);
    const q = pos.get(e.b);
    svg.append(
      s(
        'line',
        {
          class: `link${e.both ? '' : ' one-sided'}`,
          'data-link': `${e.a}-${e.b}`,
          x1: p.x,
          y1: p.y,
          x2: q.x,
          y2: q.y,
          stroke: e.both ? '#6b7385' : '#b0b6c3',
          'stroke-width': 2,
          'stroke-dasharray': e.both ? undefined : '6 4',
        },
        s('title', {}, `${e.a} ⇄ ${e.b}${e.both ? '' : ' (reported by one end only)'}`),
      ),
    );
  }
  for (const hub of ordered) {
    const p = pos.get(hub.name);
    const count = servicesOf(hub.name).filter((x) => x.status === 'up').length;
    svg.append(
      s(
        'g',
        {
          class: `node${hub.self ? ' self' : ''}${hub.reachable ? '' : ' unreachable'}`,
          'data-hub': hub.name,
          transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})`,
        },
        s('title', {}, `${hub.name} ${hub.address}${hub.reachable ? '' : ' (unreachable)'}`),
        s('circle', {
          r: 26,
          fill: !hub.reachable ? '#f6d4d4' : hub.self ? '#cfe0fb' : '#cfeccf',
          stroke: !hub.reachable ? '#7a1a1a' : hub.self ? '#1d4f9c' : '#185c18',
          'stroke-width': 2,
        }),
        s(
          'text',
          { class: 'name', y: 4, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 600, fill: '#1d2330' },
          hub.name.length > 12 ? `${hub.name.slice(0, 11)}…` : hub.name,
        ),
        s(
          'text',
          { class: 'count', y: 42, 'text-anchor': 'middle', 'font-size': 11, fill: '#6b7385' },
          `${count} service${count === 1 ? '' : 's'} up`,
        ),
      ),
    );
  }
  return svg;
}

function serviceItem(x) {
  const instances = x.instances.length
    ? h(
        'span.muted',
        {},
        ` ${x.instances.length} instance${x.instances.length === 1 ? '' : 's'} (${x.instances.map((i) => i.instance).join(', ')})`,
      )
    : '';
  return h(
    'li.service',
    { 'data-service': x.name, 'data-status': x.status },
    h(`span.badge.${x.status}`, {}, x.status),
    ' ',
    h('strong', {}, x.name),
    instances,
    h('span.muted', {}, ` since ${since(x.since)}`),
  );
}

export function networkPage(root) {
  let cluster;
  let services;
  let scheduled = false;
  const view = h('div.network-page');
  root.append(h('h2', {}, 'Network'), view);

  let shown = '';
  function render() {
    scheduled = false;
    if (!cluster || !services) return;
    // The same picture often comes twice (the API answer, then the frames sent on connect): drawn once.
    const sig = JSON.stringify([
      cluster,
      services.map((x) => [x.name, x.server, x.status, x.since, x.instances.map((i) => i.instance)]),
    ]);
    if (sig === shown) return;
    shown = sig;
    const m = model(cluster);
    const byHub = new Map();
    for (const x of services) {
      if (!byHub.has(x.server)) byHub.set(x.server, []);
      byHub.get(x.server).push(x);
    }
    const servicesOf = (name) => byHub.get(name) ?? [];
    const sections = m.hubs.map((hub) => {
      const mine = servicesOf(hub.name);
      return h(
        'section.hub',
        { 'data-hub': hub.name },
        h(
          'h3',
          {},
          hub.name,
          ' ',
          h(
            `span.badge.${hub.reachable ? 'up' : 'down'}`,
            {},
            hub.self ? 'this hub' : hub.reachable ? 'reachable' : 'unreachable',
          ),
        ),
        h('p.muted', {}, hub.address),
        h('ul.services', {}, mine.length ? mine.map(serviceItem) : h('li.muted', {}, 'no services')),
      );
    });
    const links = cluster.mesh
      ? h(
          'section.links',
          {},
          h('h3', {}, 'Links of this hub'),
          h(
            'ul',
            {},
            cluster.mesh.links.length
              ? cluster.mesh.links.map((l) =>
                  h(
                    'li',
                    { 'data-link': l.server },
                    `${cluster.server} ⇄ ${l.server} (${l.address}, ${l.outgoing ? 'out' : 'in'}${l.secure ? ', tls' : ''})`,
                  ),
                )
              : h('li.muted', {}, 'no links'),
          ),
        )
      : '';
    view.replaceChildren(graph(m, servicesOf), h('div.network', {}, ...sections, links));
  }
  // Frames come in bursts (a link up brings services and cluster frames): one render per frame.
  const later = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(render);
    }
  };

  const off = onLive((frame) => {
    if (frame.type === 'services') {
      services = frame.services;
      later();
    } else if (frame.type === 'cluster') {
      cluster = frame.cluster;
      later();
    }
  });
  Promise.all([cluster ? undefined : api('/api/cluster'), services ? undefined : api('/api/services')]).then(
    ([c, sv]) => {
      cluster ??= c;
      services ??= sv?.services;
      render();
    },
    (err) => view.replaceChildren(errorBox(err)),
  );
  return off;
}
