import type { Attachment } from '@bigtech/chat-client';
import { useEffect, useRef, useState } from 'react';
import { formatSize } from './model.ts';

/** An image as a thumbnail that opens full size, any other file as a download link. */
export function AttachmentView({ attachment }: { attachment: Attachment }) {
  const [open, setOpen] = useState(false);
  if (attachment.kind !== 'image') {
    return (
      <p className="chat-file">
        <span aria-hidden="true" className="chat-muted">[파일] </span>
        <a href={attachment.url} download={attachment.name}>
          {attachment.name}
        </a>{' '}
        <span className="chat-muted">({formatSize(attachment.size)})</span>
      </p>
    );
  }
  const ratio = attachment.width && attachment.height ? `${attachment.width} / ${attachment.height}` : undefined;
  return (
    <>
      <a
        className="chat-thumb"
        href={attachment.url}
        onClick={(event) => {
          event.preventDefault();
          setOpen(true);
        }}
      >
        <img alt={attachment.name} src={attachment.thumbnail_url ?? attachment.url} style={ratio ? { aspectRatio: ratio } : undefined} />
      </a>
      {open && <Lightbox attachment={attachment} onClose={() => setOpen(false)} />}
    </>
  );
}

function Lightbox({ attachment, onClose }: { attachment: Attachment; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="chat-lightbox" aria-label={`${attachment.name} 원본`} onClose={onClose} onClick={(event) => event.target === dialog.current && onClose()}>
      <img alt={`${attachment.name} 원본`} src={attachment.url} />
      <div className="chat-lightbox-bar">
        <a href={attachment.url} download={attachment.name}>
          내려받기
        </a>
        <button type="button" onClick={onClose} autoFocus>
          닫기
        </button>
      </div>
    </dialog>
  );
}
