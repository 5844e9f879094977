/**
 * Test helper (not public API): a hub with the real sync service in its own process, so a test
 * can count what the service writes to its log (stderr) while it is sent bad requests. Prints
 * the hub's local port on stdout once both are up.
 */
import { syncService } from '../../sync/service.js';
import { hubPort, startTestHub } from './support.js';

delete process.env.SWITCHBOARD_DATABASE_URL;
const hub = await startTestHub({ signal: 'off' });
// The sync service is built in: only an identity that may send to it can (the test's token).
if (process.env.SYNC_CHILD_TOKEN) hub.trust.addAdminToken(process.env.SYNC_CHILD_TOKEN);
await syncService({ dataPath: hub.config.dataPath }).start(hub);
process.stdout.write(`${hubPort(hub)}\n`);
