// Plugin versions and the constraints templates put on them (`plugin_requirements { x = { source =
// "acme/x", version = "~> 1.2" } }`), as Terraform and Tharsis write them: comma-separated
// conditions, each an operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`; `=` when omitted) and a
// version (`1`, `1.2` or `1.2.3`, with an optional pre-release). `~> 1.2` is `>= 1.2, < 2.0`;
// `~> 1.2.3` is `>= 1.2.3, < 1.3.0`. Without a constraint, the newest version is taken. Pre-releases
// are only chosen when a condition names one exactly.
import { badInput } from '../../errors';
import { compareSemanticVersions, isSemanticVersion } from '../templates/semver';

/** A publishable version: semver without build metadata (it would not order, and a PRN cannot hold `+`). */
export function checkPluginVersion(field: string, value: string): string {
  const version = value.trim();
  if (!isSemanticVersion(version) || version.includes('+')) throw badInput(field, 'must be a semantic version such as 1.4.2 or 2.0.0-rc.1 (no build metadata)');
  return version;
}

type Operator = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~>';

interface Condition {
  operator: Operator;
  /** Padded to three parts. */
  version: string;
  /** How many of major.minor.patch were written (for ~>). */
  written: number;
  prerelease: boolean;
}

const conditionPattern = /^(=|!=|>=|<=|>|<|~>)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/;

/** The conditions of a constraint, or a message saying what is wrong with it. */
export function parseConstraint(text: string): Condition[] | string {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) return `"${text}" is not a version constraint (e.g. "1.2.0", ">= 1.0, < 2.0", "~> 1.2")`;
  const conditions: Condition[] = [];
  for (const part of parts) {
    const match = conditionPattern.exec(part);
    if (!match) return `"${part}" is not a version condition (e.g. "1.2.0", ">= 1.0", "~> 1.2")`;
    const [, operator = '=', major, minor, patch, prerelease] = match;
    const written = patch !== undefined ? 3 : minor !== undefined ? 2 : 1;
    const version = `${major}.${minor ?? 0}.${patch ?? 0}${prerelease ?? ''}`;
    if (!isSemanticVersion(version)) return `"${part}" is not a version condition`;
    conditions.push({ operator: operator as Operator, version, written, prerelease: prerelease !== undefined });
  }
  return conditions;
}

function satisfies(version: string, condition: Condition): boolean {
  const order = compareSemanticVersions(version, condition.version);
  switch (condition.operator) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '~>': {
      if (order < 0) return false;
      const [major, minor] = condition.version.split(/[.-]/).map(Number) as [number, number];
      const upper = condition.written <= 2 ? `${major + 1}.0.0` : `${major}.${minor + 1}.0`;
      return compareSemanticVersions(version, upper) < 0;
    }
  }
}

/** The newest of `versions` meeting every condition (no constraint: the newest release). */
export function newestMatching(versions: readonly string[], conditions: readonly Condition[]): string | undefined {
  const namedPrereleases = new Set(conditions.filter((condition) => condition.prerelease && condition.operator === '=').map((c) => c.version));
  return versions
    .filter((version) => !version.includes('-') || namedPrereleases.has(version))
    .filter((version) => conditions.every((condition) => satisfies(version, condition)))
    .sort(compareSemanticVersions)
    .at(-1);
}
