import { isRouteErrorResponse, Link, useRouteError } from 'react-router';
import { errorMessage } from '../../api/client';
import { useDocumentTitle } from '../useDocumentTitle';
import styles from './RouteError.module.css';

/** What a page shows instead of going blank when it throws while rendering. */
export function RouteError() {
  const error = useRouteError();
  useDocumentTitle('Something went wrong');
  const message = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : errorMessage(error);
  return (
    <main className={styles.box} role="alert">
      <h1>Something went wrong on this page</h1>
      <p>{message}</p>
      <p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload the page
        </button>{' '}
        or <Link to="/">go to your workflows</Link>.
      </p>
    </main>
  );
}
