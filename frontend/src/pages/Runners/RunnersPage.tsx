import { useDocumentTitle } from '../../components/useDocumentTitle';

export function RunnersPage() {
  useDocumentTitle('Runners');
  return <h1>Runners</h1>;
}
