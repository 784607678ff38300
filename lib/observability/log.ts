/**
 * A minimal structured logger: one JSON object per line on stdout, which CloudWatch indexes as is.
 * Fields whose names look secret-bearing are replaced before anything is written (./redact), so a
 * careless call site cannot leak a token.
 */
import { redactingReplacer } from './redact';

export const LogLevels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LogLevels;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** @default process.env.LOG_LEVEL ?? 'info' */
  readonly level?: LogLevel | undefined;
  /** Where lines go. @default process.stdout */
  readonly write?: ((line: string) => void) | undefined;
  /** Fields on every line (service, request id). */
  readonly base?: Record<string, unknown> | undefined;
}

export function parseLogLevel(text: string | undefined): LogLevel {
  const lower = (text ?? 'info').toLowerCase();
  return lower in LogLevels ? (lower as LogLevel) : 'info';
}

export function createLogger(options: LoggerOptions = {}): Logger & { child(fields: Record<string, unknown>): Logger } {
  const threshold = LogLevels[options.level ?? parseLogLevel(process.env['LOG_LEVEL'])];
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const base = options.base ?? {};
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>): void => {
    if (LogLevels[level] < threshold) return;
    write(JSON.stringify({ level, time: new Date().toISOString(), message, ...base, ...fields }, redactingReplacer));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, level: options.level ?? parseLogLevel(process.env['LOG_LEVEL']), base: { ...base, ...fields } }),
  };
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
