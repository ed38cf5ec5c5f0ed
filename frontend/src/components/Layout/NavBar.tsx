import { useState } from 'react';
import { NavLink } from 'react-router';
import { useAuth } from '../../auth/AuthProvider';
import styles from './NavBar.module.css';

const LINKS = [
  { to: '/', label: 'Workflows', end: true },
  { to: '/runners', label: 'Runners', end: false },
  { to: '/queue', label: 'Queue', end: false },
  { to: '/settings/tokens', label: 'Tokens', end: false },
];

export function NavBar() {
  const { username, logout } = useAuth();
  const [leaving, setLeaving] = useState(false);

  async function onLogout() {
    setLeaving(true);
    // Once the session ends, RequireAuth sends this tab to /login.
    await logout();
  }

  return (
    <header className={styles.bar}>
      <NavLink to="/" className={styles.brand} aria-label="Nodeworks home">
        <svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true">
          <path d="M4 8 L12 4 M4 8 L12 12" stroke="#93c5fd" strokeWidth="1.5" />
          <circle cx="4" cy="8" r="2.6" fill="#60a5fa" />
          <circle cx="12" cy="4" r="2.6" fill="#4ade80" />
          <circle cx="12" cy="12" r="2.6" fill="#fbbf24" />
        </svg>
        <span>Nodeworks</span>
      </NavLink>
      <nav aria-label="Main">
        <ul className={styles.links}>
          {LINKS.map((link) => (
            <li key={link.to}>
              <NavLink
                to={link.to}
                end={link.end}
                className={({ isActive }) => (isActive ? `${styles.link} ${styles.active}` : styles.link)}
              >
                {link.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className={styles.user}>
        <span className={styles.username} title="Logged in as">
          {username ?? 'Account'}
        </span>
        <button type="button" className={styles.logout} onClick={onLogout} disabled={leaving}>
          {leaving ? 'Logging out…' : 'Log out'}
        </button>
      </div>
    </header>
  );
}
