// The `jwt` blocks of a pipeline template, minted for a job when it starts: identity tokens the
// job presents to other systems (e.g. `audience = "sts.amazonaws.com"` for AWS role federation),
// signed by the installation's keys like every token it issues, so those systems verify them
// against its JWKS. Typed `JWT`, never `at+jwt`: they are no Phobos access token, whatever audience
// a template names. They live as long as the job may run, and are never stored.
import type { TokenSigner } from '../../auth/signing/jws';
import type { TemplateJwt } from '../templates/model';

export interface JobIdentity {
  jobId: string;
  pipelineId: string;
  pipelineType: string;
  organizationName: string;
  projectName: string;
  environmentName: string | null;
  maxDurationSeconds: number;
}

export async function mintTemplateJwts(signer: TokenSigner, jwts: readonly TemplateJwt[], job: JobIdentity): Promise<Record<string, string>> {
  const subject = `prn:pipeline:${job.organizationName}/${job.projectName}/${job.pipelineId}`;
  const claims: Record<string, unknown> = {
    phobos_type: 'job',
    organization: job.organizationName,
    project: job.projectName,
    pipeline_id: job.pipelineId,
    pipeline_type: job.pipelineType,
    job_id: job.jobId,
  };
  if (job.environmentName !== null) claims.environment = job.environmentName;
  const entries = await Promise.all(
    jwts.map(
      async (jwt) => [jwt.name, await signer.sign({ type: 'JWT', audience: jwt.audience, subject, expiresInSeconds: job.maxDurationSeconds, claims })] as const,
    ),
  );
  return Object.fromEntries(entries);
}
