// Placeholder created by WEB-SHELL so the router builds; WEB-GRAPH replaces this file.
import { useParams } from 'react-router';
import { useDocumentTitle } from '../../components/useDocumentTitle';

export function RunPage() {
  const { workflowId, runId } = useParams();
  useDocumentTitle(`Run ${runId}`);
  return (
    <h1>
      Workflow {workflowId}, run {runId}
    </h1>
  );
}
