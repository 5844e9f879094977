// Switchboard plugin in a forked child process (IPC): one method, echo.
import { childProcessConnector, createClient } from '../../src/engine/client/index.js';

createClient(childProcessConnector(), { echo: (x: unknown) => x });
