// Placeholder created by WEB-SHELL so the router builds; WEB-GRAPH replaces this file.
import { useParams } from 'react-router';
import { useDocumentTitle } from '../../components/useDocumentTitle';

export function WorkflowPage() {
  const { workflowId } = useParams();
  useDocumentTitle(`Workflow ${workflowId}`);
  return <h1>Workflow {workflowId}</h1>;
}
