/** Rejects with `timeoutError()` when `work` has not settled within `ms`; the timer never outlives it. */
export function withTimeout<T>(work: Promise<T>, ms: number, timeoutError: () => Error = () => new Error(`timed out after ${ms} ms`)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
