// Semantic Versioning 2.0.0 (semver.org): the grammar of a template's version and its precedence, so
// `latest` is the highest version (1.10.0 after 1.9.0; 1.0.0-rc.1 before 1.0.0; build metadata
// ignored). Thirty lines, rather than a dependency in the Worker bundle.

const pattern =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

interface SemanticVersion {
  core: [bigint, bigint, bigint];
  prerelease: string[];
}

function parse(version: string): SemanticVersion | undefined {
  const match = pattern.exec(version);
  if (!match) return undefined;
  return { core: [BigInt(match[1]!), BigInt(match[2]!), BigInt(match[3]!)], prerelease: match[4] ? match[4].split('.') : [] };
}

export function isSemanticVersion(version: string): boolean {
  return version.length <= 128 && parse(version) !== undefined;
}

const numeric = /^\d+$/;

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = numeric.test(a);
  const bNumeric = numeric.test(b);
  if (aNumeric && bNumeric) return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative, zero or positive as `a` has lower, equal or higher precedence than `b` (both valid). */
export function compareSemanticVersions(a: string, b: string): number {
  const left = parse(a)!;
  const right = parse(b)!;
  for (let index = 0; index < 3; index++) {
    if (left.core[index]! !== right.core[index]!) return left.core[index]! < right.core[index]! ? -1 : 1;
  }
  // A pre-release sorts before its release; between pre-releases, identifier by identifier.
  if (left.prerelease.length === 0 || right.prerelease.length === 0) return right.prerelease.length - left.prerelease.length;
  for (let index = 0; index < Math.min(left.prerelease.length, right.prerelease.length); index++) {
    const order = compareIdentifiers(left.prerelease[index]!, right.prerelease[index]!);
    if (order !== 0) return order;
  }
  return left.prerelease.length - right.prerelease.length;
}
