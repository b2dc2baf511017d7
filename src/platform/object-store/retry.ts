// Retrying requests to a remote store: 5xx answers, 429 and network failures are retried with
// bounded exponential backoff; any other 4xx is an answer (a retry would get the same one). The
// backoff has jitter so that many isolates failing together do not retry together.

export interface RetryPolicy {
  /** Retries after the first attempt (so at most `retries + 1` requests). */
  retries: number;
  /** Delay before the first retry; it doubles for each further retry. */
  initialDelayMs: number;
  /** Cap of one delay. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 3, initialDelayMs: 100, maxDelayMs: 2000 };

const isRetryableStatus = (status: number) => status >= 500 || status === 429;

/** Thrown when every attempt failed: the last answer's status, or the last network error as cause. */
export class RetriesExhausted extends Error {
  constructor(
    readonly attempts: number,
    readonly lastStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`gave up after ${attempts} attempts (${lastStatus === undefined ? 'no answer' : `last status ${lastStatus}`})`, options);
    this.name = 'RetriesExhausted';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The delay before retry number `retry` (0-based): half fixed, half random, capped. */
function backoffDelay(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

/**
 * Sends (`send` builds a fresh request each time: a signed request carries its date) until an
 * answer that is not retryable, or the retries run out.
 */
export async function fetchWithRetry(send: () => Promise<Response>, policy: RetryPolicy): Promise<Response> {
  let lastStatus: number | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await sleep(backoffDelay(policy, attempt - 1));
    try {
      const response = await send();
      if (!isRetryableStatus(response.status)) return response;
      lastStatus = response.status;
      lastError = undefined;
      await response.body?.cancel();
    } catch (error) {
      lastError = error;
      lastStatus = undefined;
    }
  }
  throw new RetriesExhausted(policy.retries + 1, lastStatus, { cause: lastError });
}
