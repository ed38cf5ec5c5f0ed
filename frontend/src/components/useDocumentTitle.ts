import { useEffect } from 'react';

/** Sets the tab title as "<thing> · Nodeworks" while the page is shown. */
export function useDocumentTitle(title: string | null | undefined) {
  useEffect(() => {
    document.title = title ? `${title} · Nodeworks` : 'Nodeworks';
  }, [title]);
}
