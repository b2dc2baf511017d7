// Light, dark, or the system's choice; remembered in localStorage (a preference, not a secret).
import { createSignal } from 'solid-js';

export type ThemeChoice = 'light' | 'dark' | 'system';
const key = 'phobos.theme';

function stored(): ThemeChoice {
  const value = localStorage.getItem(key);
  return value === 'light' || value === 'dark' ? value : 'system';
}

const [theme, setThemeSignal] = createSignal<ThemeChoice>(stored());
export { theme };

function apply(choice: ThemeChoice): void {
  if (choice === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
}

export function setTheme(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(key);
  else localStorage.setItem(key, choice);
  setThemeSignal(choice);
  apply(choice);
}

apply(theme());
