import { ConfigError } from '../../lib/errors';

/** Runs `act`, expecting a ConfigError; returns it for assertions. */
export function configError(act: () => unknown): ConfigError {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** Awaits `act`, expecting a ConfigError; returns it for assertions. */
export async function configErrorAsync(act: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await act();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}
