import { useDocumentTitle } from '../../components/useDocumentTitle';

export function LoginPage() {
  useDocumentTitle('Log in');
  return <h1>Log in</h1>;
}
