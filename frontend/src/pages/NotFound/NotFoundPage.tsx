import { Link, useLocation } from 'react-router';
import { useDocumentTitle } from '../../components/useDocumentTitle';

export function NotFoundPage() {
  useDocumentTitle('Page not found');
  const location = useLocation();
  return (
    <section data-testid="not-found">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{location.pathname}</code>. It may have been moved, or the link has a typo.
      </p>
      <p>
        <Link to="/">Go to your workflows</Link> · <Link to="/runners">Runners</Link> · <Link to="/queue">Queue</Link>
      </p>
    </section>
  );
}
