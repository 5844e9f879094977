/**
 * Plugin side of HubPlugin: the plugin is a service on a Switchboard hub and talks to whichever
 * engine sent it the handshake. `serveHubPlugin(url, service, methods)` connects, registers and
 * creates the client.
 */
import type { SwitchboardClient } from '../../../client/index.js';
import type { Endpoint } from '../../../core/message.js';
import { isHandshake, type RemixMessage } from '../../protocol.js';
import { PLUGIN_COMMAND, PLUGIN_PARAM } from '../../connectors/hub.js';
import { createClient, type ClientConnector, type ClientOptions, type PluginClient } from '../client.js';

export function hubConnector(hub: SwitchboardClient): ClientConnector {
  let engine: Endpoint | undefined;
  return {
    send: (message: RemixMessage) => {
      if (engine)
        hub.send({ command: PLUGIN_COMMAND, to: engine, params: { [PLUGIN_PARAM]: JSON.stringify(message) } });
    },
    on: (cb) => {
      hub.on(PLUGIN_COMMAND, (msg) => {
        const raw = msg.params[PLUGIN_PARAM];
        if (typeof raw !== 'string') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          cb(raw);
          return;
        } // the client reports it
        // The engine that sends the handshake is the one this plugin answers.
        if (typeof parsed === 'object' && parsed !== null && isHandshake(parsed as RemixMessage)) engine = msg.sentFrom;
        else if (!engine || msg.sentFrom.service !== engine.service) return;
        cb(parsed);
      });
    },
    close: () => hub.dispose(),
  };
}

export interface HubPluginService {
  client: PluginClient;
  hub: SwitchboardClient;
  close(): void;
}

/** Connect to the hub at `url` (default SWITCHBOARD_ADDRESS), register as `service`, serve `methods`. */
export async function serveHubPlugin(
  url: string | undefined,
  service: string,
  methods: object,
  options: ClientOptions = {},
): Promise<HubPluginService> {
  const { connect } = await import('../../../client/index.js');
  const hub = await connect(url, { format: 'json' });
  const client = createClient(hubConnector(hub), methods, options);
  await hub.register(service, { commands: [PLUGIN_COMMAND] });
  return { client, hub, close: () => client.close() };
}
