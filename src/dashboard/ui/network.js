// Network: this hub and the hubs of its cluster as nodes, links between them, services per hub
// with their instances and status; the services update live from /api/live.
import { api, onLive } from './api.js';
import { h, since, errorBox } from './dom.js';

export function networkPage(root) {
  let cluster;
  let services = [];
  const view = h('div.network');
  root.append(h('h2', {}, 'Network'), view);

  function render() {
    view.replaceChildren();
    if (!cluster) return;
    const hubs = cluster.mesh ? cluster.mesh.hubs.map((x) => ({ name: x.name, address: x.address, reachable: x.name === cluster.server || x.reachable })) : [{ name: cluster.server, address: cluster.addresses.map((a) => a.url).join(' '), reachable: true }];
    for (const hub of hubs) {
      const mine = services.filter((s) => s.server === hub.name);
      view.append(h('section.hub', { 'data-hub': hub.name },
        h('h3', {}, hub.name, ' ', h(`span.badge.${hub.reachable ? 'up' : 'down'}`, {}, hub.name === cluster.server ? 'this hub' : hub.reachable ? 'reachable' : 'unreachable')),
        h('p.muted', {}, hub.address),
        h('ul.services', {}, mine.length ? mine.map((s) => h('li.service', { 'data-service': s.name, 'data-status': s.status },
          h(`span.badge.${s.status}`, {}, s.status), ' ', h('strong', {}, s.name),
          s.instances.length ? h('span.muted', {}, ` ${s.instances.length} instance${s.instances.length === 1 ? '' : 's'} (${s.instances.map((i) => i.instance).join(', ')})`) : '',
          h('span.muted', {}, ` since ${since(s.since)}`))) : h('li.muted', {}, 'no services'))));
    }
    if (cluster.mesh) {
      view.append(h('section.links', {}, h('h3', {}, 'Links'),
        h('ul', {}, cluster.mesh.links.length ? cluster.mesh.links.map((l) => h('li', {}, `${cluster.server} ⇄ ${l.server} (${l.address}, ${l.outgoing ? 'out' : 'in'}${l.secure ? ', tls' : ''})`)) : h('li.muted', {}, 'no links'))));
    }
  }

  async function loadCluster() {
    try {
      cluster = await api('/api/cluster');
      if (!services.length) services = (await api('/api/services')).services;
      render();
    } catch (err) {
      view.replaceChildren(errorBox(err));
    }
  }

  const off = onLive((frame) => {
    if (frame.type !== 'services') return;
    services = frame.services;
    render();
  });
  void loadCluster();
  const timer = setInterval(loadCluster, 5000);
  return () => { off(); clearInterval(timer); };
}
