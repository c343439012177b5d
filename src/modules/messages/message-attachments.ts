import type { AttachmentService } from '../attachments/attachment.service.ts';
import type { UrlGrant } from '../attachments/attachment-urls.ts';
import type { AttachmentInfo, AttachmentView } from '../attachments/attachment.schemas.ts';
import type { MessageView } from './message.schemas.ts';
import { signView, toUnsignedView, type UnsignedMessageView } from './message.view.ts';
import type { StoredMessage } from './store/message-store.ts';

/** Live events go to every member's socket at once: their URLs are given to the room. */
export const ROOM_GRANT: UrlGrant = { kind: 'room' };
export const userGrant = (userId: number): UrlGrant => ({ kind: 'user', userId });

/**
 * The field as JSON.stringify writes it for a message with an attachment. It cannot occur inside
 * a string value (JSON escapes the quotes there), so finding it means the message has one.
 */
const ATTACHMENT_FIELD = '"attachment":{';

/** Messages with their attachments: looked up in one query per batch, signed per reader. */
export class MessageAttachments {
  constructor(private readonly attachments: AttachmentService) {}

  /** One attachments query for all the messages that have one (none when no message does). */
  async unsigned(messages: readonly StoredMessage[]): Promise<UnsignedMessageView[]> {
    const ids = messages.flatMap((message) => (message.attachmentId ? [message.attachmentId] : []));
    const infos = ids.length > 0 ? await this.attachments.infos(ids) : new Map<string, AttachmentInfo>();
    return messages.map((message) => toUnsignedView(message, message.attachmentId ? infos.get(message.attachmentId) : null));
  }

  async one(message: StoredMessage, known?: AttachmentInfo): Promise<UnsignedMessageView> {
    if (known && message.attachmentId === known.id) return toUnsignedView(message, known);
    const [view] = await this.unsigned([message]);
    return view ?? toUnsignedView(message, null);
  }

  sign(view: UnsignedMessageView, grant: UrlGrant): MessageView {
    return signView(view, this.signerFor(grant));
  }

  async signed(messages: readonly StoredMessage[], grant: UrlGrant): Promise<MessageView[]> {
    const sign = this.signerFor(grant);
    return (await this.unsigned(messages)).map((view) => signView(view, sign));
  }

  private signerFor(grant: UrlGrant): (attachment: AttachmentInfo) => AttachmentView {
    return (attachment) => this.attachments.sign(attachment, grant);
  }

  /** Cached messages' JSON joined as an array body, with fresh URLs; a page without attachments is one scan. */
  signJsonList(jsons: readonly string[], grant: UrlGrant): string {
    const joined = jsons.join(',');
    if (!joined.includes(ATTACHMENT_FIELD)) return joined;
    return jsons.map((json) => this.signJson(json, grant)).join(',');
  }

  /** A cached message's JSON with fresh URLs for the reader; only messages with an attachment are parsed. */
  signJson(json: string, grant: UrlGrant): string {
    if (!json.includes(ATTACHMENT_FIELD)) return json;
    return JSON.stringify(this.sign(JSON.parse(json) as UnsignedMessageView, grant));
  }
}
