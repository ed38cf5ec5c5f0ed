import { useDocumentTitle } from '../../components/useDocumentTitle';

export function SignupPage() {
  useDocumentTitle('Sign up');
  return <h1>Sign up</h1>;
}
