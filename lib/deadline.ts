import { CodeHubError, ErrorCodes } from './errors';

/**
 * `promise`'s outcome, or a CODEHUB_TIMEOUT rejection (`${what} did not finish before the deadline`)
 * when `ms` pass first; `promise` itself is left to run. No timer at all when `ms` is undefined; the
 * timer never holds the process open by itself.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number | undefined, what: string): Promise<T> {
  if (ms === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new CodeHubError(ErrorCodes.CODEHUB_TIMEOUT, `${what} did not finish before the deadline`));
    }, Math.max(0, ms));
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
