// Environment-name patterns of protection rules: an exact environment name (`prod`) or a glob in
// which `*` stands for any run of characters and `?` for one (`prod-*`, `eu-?`). Nothing else is
// special, so a pattern is always an environment name's characters plus these two.
import { badInput } from '../../errors';
import { validateName } from '../names';

const globCharacters = /^[a-z0-9*?-]{1,64}$/;

export function validateEnvironmentPattern(field: string, value: string): string {
  const pattern = value.trim();
  if (!/[*?]/.test(pattern)) return validateName(field, pattern);
  if (!globCharacters.test(pattern)) {
    throw badInput(field, 'must be an environment name or a glob of 1-64 lowercase letters, digits, hyphens, * (any characters) and ? (one character)');
  }
  return pattern;
}

export function patternMatches(pattern: string, environmentName: string): boolean {
  // Only letters, digits and hyphens besides the wildcards: nothing else needs escaping.
  const expression = new RegExp(`^${pattern.replaceAll('*', '.*').replaceAll('?', '.')}$`);
  return expression.test(environmentName);
}
