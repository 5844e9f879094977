/**
 * IframePlugin (browser): a plugin page in an `<iframe>`. Messages are accepted only from that
 * frame's window *and* the origin of the plugin's url — a message from another origin (another
 * frame, or this frame after navigating elsewhere) is dropped and counted. Replies are posted to
 * that origin only. The sandbox flags are configurable (Remix's are the default).
 */
import { PluginConnector, type ConnectorOptions } from '../connector.js';
import { connectionLost } from '../errors.js';
import type { Profile } from '../profile.js';
import type { RemixMessage } from '../protocol.js';

export const DEFAULT_SANDBOX =
  'allow-popups allow-scripts allow-same-origin allow-forms allow-top-navigation allow-popups-to-escape-sandbox';

export interface IframePluginOptions extends ConnectorOptions {
  /** Where the iframe goes. Default: document.body. */
  target?: HTMLElement | (() => HTMLElement);
  /** The iframe's sandbox attribute. Without allow-same-origin the frame's origin is "null". */
  sandbox?: string;
  /** Extra iframe attributes (allow, style, class ...). */
  attributes?: Record<string, string>;
}

export class IframePlugin extends PluginConnector {
  declare options: IframePluginOptions;
  private iframe: HTMLIFrameElement | undefined;
  private origin = '';
  private listener: ((event: MessageEvent) => void) | undefined;

  constructor(profile: Profile & { url: string }, options: IframePluginOptions = {}) {
    super(profile, options);
  }

  get frame(): HTMLIFrameElement | undefined {
    return this.iframe;
  }

  protected connect(url: string): void {
    const resolved = new URL(url, window.location.href);
    const sandbox = this.options.sandbox ?? DEFAULT_SANDBOX;
    this.origin = sandbox.split(/\s+/).includes('allow-same-origin') ? resolved.origin : 'null';
    const iframe = document.createElement('iframe');
    iframe.setAttribute('sandbox', sandbox);
    iframe.title = this.profile.displayName ?? this.name;
    iframe.dataset.plugin = this.name;
    for (const [k, v] of Object.entries(this.options.attributes ?? {})) iframe.setAttribute(k, v);
    iframe.src = resolved.href;
    this.iframe = iframe;
    this.listener = (event: MessageEvent) => {
      if (!this.iframe || event.source !== this.iframe.contentWindow) return; // another frame's business
      if (event.origin !== this.origin) {
        this.messageRejected(`message from origin ${event.origin}, but plugin "${this.name}" lives at ${this.origin}`);
        return;
      }
      this.getMessage(event.data);
    };
    window.addEventListener('message', this.listener);
    const target =
      typeof this.options.target === 'function' ? this.options.target() : (this.options.target ?? document.body);
    target.appendChild(iframe);
  }

  protected disconnect(): void {
    if (this.listener) window.removeEventListener('message', this.listener);
    this.listener = undefined;
    this.iframe?.remove();
    this.iframe = undefined;
  }

  protected send(message: RemixMessage): void {
    const win = this.iframe?.contentWindow;
    if (!win) throw connectionLost(`plugin "${this.name}" has no iframe`);
    win.postMessage(message, this.origin === 'null' ? '*' : this.origin);
  }
}
