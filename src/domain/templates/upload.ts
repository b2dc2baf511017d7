// What uploading HCL (a pipeline template, a release lifecycle) has in common once it is compiled:
// its version checked, its problems reported at their line and column, its approval rules checked
// against the organization, its SHA-256, and who created it.
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import { AppError, badInput } from '../../errors';
import { approvalRuleIdsByPath } from '../approval-rules/service';
import { parsePrn } from '../prn';
import type { TemplateProblem } from './model';
import { isSemanticVersion } from './semver';

/** BAD_USER_INPUT listing every problem as `line:column: message`, the list itself in `details.problems`. */
export function templateProblems(problems: TemplateProblem[], what = 'template'): AppError {
  const lines = problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`);
  return new AppError(
    'BAD_USER_INPUT',
    `hclData: the ${what} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${lines.join('\n')}`,
    {
      field: 'hclData',
      details: { problems },
    },
  );
}

export function validateVersion(versioned: boolean, semanticVersion: string | undefined, what = 'template'): string | null {
  if (!versioned) {
    if (semanticVersion !== undefined) throw badInput('semanticVersion', `only a versioned ${what} has a semantic version; set versioned: true`);
    return null;
  }
  if (semanticVersion === undefined) throw badInput('semanticVersion', `a versioned ${what} needs a semantic version, e.g. 1.0.0`);
  const version = semanticVersion.trim();
  if (!isSemanticVersion(version)) throw badInput('semanticVersion', `"${version}" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0 or 2.0.0-rc.1)`);
  // Build metadata does not count in precedence: 1.0.0+a and 1.0.0+b would be two equal "latest" versions.
  if (version.includes('+')) throw badInput('semanticVersion', 'build metadata (+...) is not accepted: versions that differ only in it are the same version');
  return version;
}

/** Where a PRN is first written in the source, for a problem that points at it. */
function positionOf(source: string, text: string): { line: number; column: number } {
  const offset = Math.max(0, source.indexOf(text));
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, column: [...before.at(-1)!].length + 1 };
}

/**
 * Every approval rule the source names (`approvalRulePrns` of its compiled model) must exist in its
 * organization; `owner` says whose organization that is in messages ("this project's").
 */
export async function checkApprovalRules(
  db: HttpDatabase,
  source: string,
  template: { approvalRulePrns: string[] },
  organizationName: string,
  owner = "this project's",
): Promise<TemplateProblem[]> {
  const paths = template.approvalRulePrns.map((prn) => parsePrn(prn)!.path);
  const found = await approvalRuleIdsByPath(
    db,
    paths.filter((path) => path[0] === organizationName),
  );
  return template.approvalRulePrns.flatMap((prn, index) => {
    const path = paths[index]!;
    if (path[0] === organizationName && found.has(path.join('/'))) return [];
    const why = path[0] === organizationName ? 'no such approval rule exists' : `approval rules must be in ${owner} organization (${organizationName})`;
    return [{ ...positionOf(source, prn), message: `approval_rules: "${prn}": ${why}.` }];
  });
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function principalName(principal: AuthenticatedPrincipal): string {
  return principal.kind === 'user' ? principal.username : principal.name;
}
