import { useDocumentTitle } from '../../components/useDocumentTitle';

export function NotFoundPage() {
  useDocumentTitle('Page not found');
  return <h1>Page not found</h1>;
}
