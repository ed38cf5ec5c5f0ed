import { Outlet } from 'react-router';
import { NavBar } from './NavBar';
import styles from './AppLayout.module.css';

/** Every logged-in page: the top navigation, then the page. */
export function AppLayout() {
  return (
    <div className={styles.shell}>
      <a className={styles.skip} href="#main">
        Skip to content
      </a>
      <NavBar />
      <main id="main" className={styles.main} tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
