// The frame around every signed-in page: a skip link, the navigation (collapsing to a menu button at
// phone width), the theme choice and the user's menu.
import { A, useLocation } from '@solidjs/router';
import { type JSX, Show, createEffect, createSignal, on } from 'solid-js';
import { signOut } from '../auth/session';
import { isAdmin, me } from './me';
import { type ThemeChoice, setTheme, theme } from './theme';

const links = [
  { href: '/', label: 'Home', end: true },
  { href: '/organizations', label: 'Organizations' },
  { href: '/agents', label: 'Agents' },
  { href: '/infrastructure', label: 'Infrastructure' },
];

export function Layout(props: { children?: JSX.Element }): JSX.Element {
  const [menuOpen, setMenuOpen] = createSignal(false);
  const location = useLocation();
  // The phone-width menu closes once a link is followed.
  createEffect(
    on(
      () => location.pathname,
      () => setMenuOpen(false),
      { defer: true },
    ),
  );
  const username = () => {
    const current = me();
    return current?.__typename === 'User' ? current.username : current?.__typename === 'ServiceAccount' ? current.name : '';
  };
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-header">
        <A href="/" class="brand">
          Phobos Edge
        </A>
        <button type="button" class="menu-button" aria-expanded={menuOpen()} aria-controls="app-nav" onClick={() => setMenuOpen(!menuOpen())}>
          Menu
        </button>
        <nav id="app-nav" aria-label="Main" classList={{ open: menuOpen() }}>
          {links.map((link) => (
            <A href={link.href} end={link.end ?? false} activeClass="active">
              {link.label}
            </A>
          ))}
          <Show when={isAdmin()}>
            <A href="/admin" activeClass="active">
              Administration
            </A>
          </Show>
        </nav>
        <div class="header-tools">
          <label class="theme-choice">
            <span class="visually-hidden">Theme</span>
            <select value={theme()} onChange={(event) => setTheme(event.currentTarget.value as ThemeChoice)}>
              <option value="system">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <A href="/account" class="account-link" title="Your account and sessions">
            {username() || 'Account'}
          </A>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{props.children}</main>
    </>
  );
}
