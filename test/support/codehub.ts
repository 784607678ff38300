import type { MirrorStatus } from '../../lib/codehub/client';
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

/** The error `read` throws; fails the test unless it is a CodeHubError. */
export function codeHubErrorThrownBy(read: () => unknown): CodeHubError {
  try {
    read();
  } catch (error) {
    if (error instanceof CodeHubError) return error;
    throw error;
  }
  throw new Error('expected a CodeHubError');
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

/** CodeHub's state of a healthy mirror, last synced a minute before 2026-03-01T10:00:00Z. */
export function healthyMirrorStatus(repositoryId: number, extra: Partial<MirrorStatus> = {}): MirrorStatus {
  return {
    repositoryId,
    updateStatus: 'success',
    lastUpdateAt: '2026-03-01T09:59:00Z',
    lastSuccessfulUpdateAt: '2026-03-01T09:59:00Z',
    numberOfFailures: 0,
    mirroringEnabled: true,
    lastError: undefined,
    url: undefined,
    endpointUuid: undefined,
    ...extra,
  };
}
