/**
 * A message on its way out of the hub, encoded at most once per wire format however many
 * connections receive it (a broadcast to fifty text services encodes one line).
 */
import { encodeJson, encodeText, type WireFormat } from '../core/codec/index.js';
import type { Message } from '../core/message.js';

export class Outgoing {
  private text: string | undefined;
  private json: string | undefined;

  constructor(readonly msg: Message) {}

  line(format: WireFormat): string {
    if (format === 'json') return (this.json ??= encodeJson(this.msg));
    return (this.text ??= encodeText(this.msg));
  }
}
