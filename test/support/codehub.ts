import type { Logger } from '../../lib/observability/log';
import { CodeHubError } from '../../lib/errors';

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

/** A logger that keeps every call, for assertions on what was (and was not) logged. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(fields ? { fields } : {}) });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** The error `promise` rejects with; fails the test unless it is a CodeHubError. */
export async function codeHubErrorOf(promise: Promise<unknown>): Promise<CodeHubError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CodeHubError) return error;
    throw error;
  }
  throw new Error('expected a CodeHubError');
}
