// The single-page dashboard: a page per hash (#network, #services, #traffic, #data), one live
// WebSocket shared by the pages. Each page function renders into its root and returns its cleanup.
import { connectLive } from './api.js';
import { networkPage } from './network.js';
import { servicesPage } from './services.js';
import { trafficPage } from './traffic.js';
import { dataPage } from './data.js';
import { runsPage, triggersPage, executionsPage } from './lists.js';

const PAGES = { network: networkPage, services: servicesPage, traffic: trafficPage, data: dataPage, runs: runsPage, triggers: triggersPage, executions: executionsPage };
const root = document.getElementById('page');
let cleanup = () => {};

function show() {
  const name = location.hash.slice(1) in PAGES ? location.hash.slice(1) : 'network';
  cleanup();
  root.replaceChildren();
  root.dataset.page = name;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.page === name);
  cleanup = PAGES[name](root) ?? (() => {});
}

window.addEventListener('hashchange', show);
connectLive((state) => { document.getElementById('live-state').textContent = state; });
show();
