import { useDocumentTitle } from '../../components/useDocumentTitle';

export function RunsPage() {
  useDocumentTitle('Runs');
  return <h1>Runs</h1>;
}
