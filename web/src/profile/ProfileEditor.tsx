import { type FormEvent, useEffect, useId, useState } from 'react';
import { nameOf } from '../people.tsx';
import { useSession } from '../session.tsx';
import { Avatar } from '../ui/Avatar.tsx';
import { describeError } from '../ui/errors.ts';
import { Field } from '../ui/Field.tsx';
import { useAction } from '../ui/useAction.ts';

const AVATAR_MAX_BYTES = 5 * 1024 * 1024;
const AVATAR_TYPES = 'image/png,image/jpeg,image/webp,image/gif';

/** My profile: display name, status message and avatar. */
export function ProfileEditor() {
  const { me } = useSession();
  return (
    <section aria-label="프로필 편집" className="profile">
      <h2>프로필</h2>
      <p className="profile-id">
        @{me.username} · {me.email}
      </p>
      <AvatarEditor />
      <DetailsForm />
    </section>
  );
}

function DetailsForm() {
  const { api, me, setMe } = useSession();
  const [displayName, setDisplayName] = useState(me.display_name ?? '');
  const [status, setStatus] = useState(me.status_message ?? '');
  const [saved, setSaved] = useState(false);
  const action = useAction();

  function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    return action.run(async () => {
      const { data, error } = await api.PUT('/api/profile/me', { body: { display_name: displayName.trim() || null, status_message: status.trim() || null } });
      if (data) {
        setMe(data.user);
        setSaved(true);
      }
      return describeError(error, '프로필');
    });
  }
  return (
    <form onSubmit={submit} aria-label="프로필 정보" className="card-flat">
      <Field label="표시 이름" value={displayName} onValue={setDisplayName} maxLength={100} />
      <Field label="상태 메시지" value={status} onValue={setStatus} maxLength={200} />
      {action.error && <p role="alert" className="form-error">{action.error}</p>}
      <p role="status" className="saved">
        {saved ? '저장했습니다' : ''}
      </p>
      <button type="submit" className="primary" disabled={action.busy}>
        저장
      </button>
    </form>
  );
}

function AvatarEditor() {
  const { api, me, setMe } = useSession();
  const [file, setFile] = useState<File | undefined>();
  const [preview, setPreview] = useState<string | undefined>();
  const [inputKey, setInputKey] = useState(0);
  const action = useAction();
  const inputId = useId();

  useEffect(() => {
    if (!file) return setPreview(undefined);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const reset = () => {
    setFile(undefined);
    setInputKey((key) => key + 1);
  };

  const upload = () =>
    action.run(async () => {
      if (!file) return undefined;
      if (file.size > AVATAR_MAX_BYTES) return '사진은 5MB 이하여야 합니다';
      const { data, error } = await api.POST('/api/profile/me/image', {
        // The typed body names the form field; the request sends the file itself.
        body: { image: file.name },
        bodySerializer: () => {
          const form = new FormData();
          form.append('image', file);
          return form;
        },
      });
      if (data) {
        setMe(data.user);
        reset();
      }
      return describeError(error, '사진');
    });

  const remove = () =>
    action.run(async () => {
      const { error, response } = await api.DELETE('/api/profile/me/image');
      if (response.ok) setMe({ ...me, profile_image_url: null });
      return describeError(error, '사진 삭제');
    });

  return (
    <div className="avatar-editor card-flat">
      {preview ? <img className="avatar" src={preview} alt="새 프로필 사진 미리 보기" width={96} height={96} /> : <Avatar name={nameOf(me)} url={me.profile_image_url} size={96} />}
      <div className="avatar-controls">
        <span className="avatar-title">프로필 사진</span>
        {/* The native picker's own text follows the browser's language, not the page's: a styled label instead. */}
        <input
          key={inputKey}
          id={inputId}
          className="visually-hidden"
          type="file"
          aria-label="프로필 사진"
          accept={AVATAR_TYPES}
          onChange={(event) => setFile(event.target.files?.[0])}
        />
        <label className="file-button" htmlFor={inputId}>
          사진 선택
        </label>
        {file && <span className="file-name">{file.name}</span>}
        <div className="row">
          <button type="button" className="primary small" disabled={!file || action.busy} onClick={upload}>
            사진 올리기
          </button>
          {me.profile_image_url && (
            <button type="button" className="small" disabled={action.busy} onClick={remove}>
              사진 삭제
            </button>
          )}
        </div>
        {action.error && <p role="alert" className="form-error">{action.error}</p>}
      </div>
    </div>
  );
}
