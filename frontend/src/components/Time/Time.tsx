import { formatAbsolute, formatRelative } from '../format';

/** A time shown as "3 minutes ago", with the exact time on hover and for assistive technology. */
export function Time({ iso, fallback = '—' }: { iso: string | null | undefined; fallback?: string }) {
  if (!iso) return <span className="muted">{fallback}</span>;
  return (
    <time dateTime={iso} title={formatAbsolute(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
