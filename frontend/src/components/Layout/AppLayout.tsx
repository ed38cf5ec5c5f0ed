import { Outlet, useMatches } from 'react-router';
import { NavBar } from './NavBar';
import styles from './AppLayout.module.css';

/** Every logged-in page: the top navigation, then the page. */
export function AppLayout() {
  // The graph pages use the whole window width (routes mark them with `handle: {wide: true}`).
  const wide = useMatches().some((match) => (match.handle as { wide?: boolean } | undefined)?.wide);
  return (
    <div className={styles.shell}>
      <a className={styles.skip} href="#main">
        Skip to content
      </a>
      <NavBar />
      <main id="main" className={wide ? `${styles.main} ${styles.wide}` : styles.main} tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
