// Switchboard plugin in a worker thread: one method, echo.
import { createClient, workerThreadConnector } from '../../src/engine/client/index.js';

createClient(workerThreadConnector(), { echo: (x: unknown) => x });
