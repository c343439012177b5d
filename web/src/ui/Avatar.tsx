interface AvatarProps {
  name: string;
  url: string | null | undefined;
  size?: number;
}

/** A profile picture, or the name's first letter. Decorative: the name is always shown beside it. */
export function Avatar({ name, url, size = 36 }: AvatarProps) {
  const style = { width: size, height: size, fontSize: size * 0.42 };
  if (url) return <img className="avatar" src={url} alt="" style={style} />;
  return (
    <span className="avatar avatar-letter" aria-hidden="true" style={style}>
      {Array.from(name)[0]?.toUpperCase() ?? '?'}
    </span>
  );
}
