/**
 * WebsocketPlugin: the engine connects, as a WebSocket client (the `ws` library), to a plugin that
 * serves WebSocket — e.g. a plugin written with `@remixproject/plugin-ws` or our
 * `serveWebsocketPlugin()`. JSON text frames. On an abnormal close the pending calls reject and the
 * connector reconnects after `reconnectDelayMs` (Remix: 1 s), up to `maxReconnects` times in a
 * row; then the plugin becomes inactive.
 */
import WebSocket from 'ws';
import { PluginConnector, type ConnectorOptions } from '../connector.js';
import { connectionLost } from '../errors.js';
import { engineLog } from '../log.js';
import type { Profile } from '../profile.js';
import type { RemixMessage } from '../protocol.js';

export interface WebsocketPluginOptions extends ConnectorOptions {
  reconnectDelayMs?: number;
  /** Reconnection attempts in a row before giving up. Default 5. */
  maxReconnects?: number;
}

export class WebsocketPlugin extends PluginConnector {
  declare options: WebsocketPluginOptions;
  private socket: WebSocket | undefined;
  private url = '';
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;

  constructor(profile: Profile & { url: string }, options: WebsocketPluginOptions = {}) {
    super(profile, options);
  }

  protected connect(url: string): Promise<void> {
    this.url = url;
    this.attempts = 0;
    return this.open();
  }

  protected disconnect(): void {
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState !== WebSocket.CLOSED) socket.close(1000, 'plugin deactivated');
  }

  protected send(message: RemixMessage): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN)
      throw connectionLost(`plugin "${this.name}" is not connected (${this.url})`);
    socket.send(JSON.stringify(message));
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, { maxPayload: (this.options.maxMessageBytes ?? 1024 * 1024) * 4 });
      this.socket = socket;
      let opened = false;
      socket.on('open', () => {
        opened = true;
        this.attempts = 0;
        resolve();
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) {
          this.messageRejected('binary WebSocket frames are not plugin messages');
          return;
        }
        this.getMessage(String(data));
      });
      socket.on('error', (err) => {
        if (!opened)
          reject(connectionLost(`cannot connect to plugin "${this.name}" at ${this.url}: ${err.message}`, err));
      });
      socket.on('close', (code, reason) => {
        if (this.socket !== socket || this.isClosing || !opened) return;
        this.socket = undefined;
        const abnormal = code !== 1000;
        const max = this.options.maxReconnects ?? 5;
        const willReconnect = abnormal && this.attempts < max;
        this.connectionLost(
          connectionLost(
            `plugin "${this.name}" closed its WebSocket (${code}${reason.length ? ` ${String(reason)}` : ''})`,
          ),
          willReconnect,
        );
        if (willReconnect) this.scheduleReconnect();
      });
    });
  }

  private scheduleReconnect(): void {
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      if (this.isClosing) return;
      this.open().catch((err: unknown) => {
        engineLog().warn(
          { plugin: this.name, err: (err as Error).message },
          `reconnect to plugin "${this.name}" failed`,
        );
        if (this.attempts < (this.options.maxReconnects ?? 5)) this.scheduleReconnect();
        else this.connectionLost(err as Error, false);
      });
    }, this.options.reconnectDelayMs ?? 1000);
  }
}
