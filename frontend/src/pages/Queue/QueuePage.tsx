import { useDocumentTitle } from '../../components/useDocumentTitle';

export function QueuePage() {
  useDocumentTitle('Queue');
  return <h1>Queue</h1>;
}
