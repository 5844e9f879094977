// Bench connector: answers task `take` at once (the second connector of the pipeline).
import { hello, listenTask } from '../../src/dispatch/sdk/index.js';

hello({ events: [], tasks: ['take'] });
listenTask({ take: (inputs) => ({ n: inputs.n ?? null }) });
