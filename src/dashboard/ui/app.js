// The single-page dashboard: a page per hash (#network, #services, #traffic, #connectors, #accounts,
// #sync, #data, #triggers, #executions, #dead-letters), one live WebSocket shared by the pages.
// Each page function renders into its root and returns its cleanup.
import { connectLive } from './api.js';
import { networkPage } from './network.js';
import { servicesPage } from './services.js';
import { trafficPage } from './traffic.js';
import { connectorsPage } from './connectors.js';
import { accountsPage } from './accounts.js';
import { syncPage } from './sync.js';
import { dataPage } from './data.js';
import { triggersPage } from './triggers.js';
import { executionsPage } from './executions.js';
import { deadLettersPage } from './dead-letters.js';

const PAGES = {
  network: networkPage,
  services: servicesPage,
  traffic: trafficPage,
  connectors: connectorsPage,
  accounts: accountsPage,
  sync: syncPage,
  data: dataPage,
  triggers: triggersPage,
  executions: executionsPage,
  'dead-letters': deadLettersPage,
};
/** Old names kept working. */
const ALIASES = { runs: 'sync' };
const root = document.getElementById('page');
let cleanup = () => {};

function show() {
  const wanted = location.hash.slice(1);
  const name = ALIASES[wanted] ?? (wanted in PAGES ? wanted : 'network');
  cleanup();
  root.replaceChildren();
  root.dataset.page = name;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.page === name);
  document.title = `Switchboard · ${name}`;
  cleanup = PAGES[name](root) ?? (() => {});
}

window.addEventListener('hashchange', show);
connectLive((state) => {
  document.getElementById('live-state').textContent = state;
});
show();
