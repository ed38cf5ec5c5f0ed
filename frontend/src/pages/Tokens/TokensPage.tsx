import { useDocumentTitle } from '../../components/useDocumentTitle';

export function TokensPage() {
  useDocumentTitle('API tokens');
  return <h1>API tokens</h1>;
}
