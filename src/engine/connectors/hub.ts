/**
 * HubPlugin: a plugin that is a service on a Switchboard hub (possibly on another machine of the
 * mesh). The engine joins the hub as a service of its own (`engineService`) and carries each Remix
 * message as the JSON string parameter `remix` of a `PLUGIN` message. The plugin side is
 * `serveHubPlugin()` / `hubConnector()` from `switchboard/engine/client`.
 *
 * The engine starts the handshake (a hub service cannot know the engine's address first), again
 * whenever the service comes up; when the hub reports the service down, pending calls reject and
 * the plugin becomes inactive.
 */
import type { SwitchboardClient } from '../../client/index.js';
import { PluginConnector, type ConnectorOptions } from '../connector.js';
import { connectionLost } from '../errors.js';
import type { Profile } from '../profile.js';
import type { RemixMessage } from '../protocol.js';

export const PLUGIN_COMMAND = 'PLUGIN';
export const PLUGIN_PARAM = 'remix';

export interface HubPluginOptions extends ConnectorOptions {
  /** The plugin's service name on the hub. Default: the profile name. */
  service?: string;
  /** The service name the engine registers as for this plugin. Default `<plugin>_engine`. */
  engineService?: string;
}

export class HubPlugin extends PluginConnector {
  declare options: HubPluginOptions;
  private client: SwitchboardClient | undefined;

  /** `profile.url` is the hub address (`cd://...`); empty means SWITCHBOARD_ADDRESS or the default. */
  constructor(profile: Profile, options: HubPluginOptions = {}) {
    super(profile, options);
  }

  private get service(): string {
    return this.options.service ?? this.name;
  }

  protected async connect(url: string): Promise<void> {
    const { connect } = await import('../../client/index.js');
    const client = await connect(url || undefined, { format: 'json' });
    this.client = client;
    client.on(PLUGIN_COMMAND, (msg) => {
      if (msg.sentFrom.service !== this.service) {
        this.messageRejected(
          `a PLUGIN message came from service "${msg.sentFrom.service}", not from "${this.service}"`,
        );
        return;
      }
      this.getMessage(msg.params[PLUGIN_PARAM]);
    });
    client.onStatus((status) => {
      if (status.service !== this.service) return;
      if (status.status === 'down')
        this.connectionLost(connectionLost(`plugin "${this.name}" (hub service "${this.service}") went down`));
      else if (!this.connected) this.startHandshake(true);
    });
    client.onState((state) => {
      if (state.status === 'disconnected')
        this.connectionLost(
          connectionLost(`lost the hub connection to plugin "${this.name}": ${state.reason.message}`),
          true,
        );
      if (state.status === 'ready' && !this.connected && !this.isClosing) this.startHandshake(true);
    });
    await client.register(this.options.engineService ?? `${this.name}_engine`, { commands: [PLUGIN_COMMAND] });
    this.startHandshake(true);
  }

  protected disconnect(): void {
    this.client?.dispose();
    this.client = undefined;
  }

  protected send(message: RemixMessage): void {
    if (!this.client) throw connectionLost(`plugin "${this.name}" is not connected to a hub`);
    this.client.send({
      command: PLUGIN_COMMAND,
      to: this.service,
      params: { [PLUGIN_PARAM]: JSON.stringify(message) },
    });
  }
}
