import type { ApiClient, Attachment } from '@bigtech/chat-client';
import { describe } from './errors.ts';

/** Uploads one file into the room (multipart field `file`). */
export async function uploadAttachment(api: ApiClient, roomId: number, file: File): Promise<Attachment> {
  const { data, error } = await api.POST('/api/messages/{room_id}/attachments', {
    params: { path: { room_id: roomId } },
    // The document types the binary part as a string; the serializer sends the File itself
    // (openapi-fetch passes FormData through and lets the browser set the boundary).
    body: { file: file.name },
    bodySerializer: () => {
      const form = new FormData();
      form.append('file', file, file.name);
      return form;
    },
  });
  if (!data) throw new Error(describe(error, '파일을 올리지 못했습니다'));
  return data.attachment;
}
