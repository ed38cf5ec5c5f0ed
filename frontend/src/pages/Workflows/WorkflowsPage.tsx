import { useDocumentTitle } from '../../components/useDocumentTitle';

export function WorkflowsPage() {
  useDocumentTitle('Workflows');
  return <h1>Workflows</h1>;
}
