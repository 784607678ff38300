import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/observability/log';
import { REDACTED } from '../../lib/observability/redact';

describe('createLogger', () => {
  it('writes one JSON line per call with the base fields and the message', () => {
    // Prepare
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l), base: { service: 's' } });
    // Act
    logger.info('synced', { jid: 'j1' });
    logger.debug('hidden');
    // Assess
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'info', message: 'synced', service: 's', jid: 'j1' });
  });

  it('never writes the value of a secret-looking field, at any depth', () => {
    // Prepare
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    // Act
    logger.error('boom', { headers: { authorization: 'SDK-HMAC-SHA256 Access=AK, Signature=s3cr3t' }, nested: [{ password: 's3cr3t' }], token: 's3cr3t', sk: 's3cr3t' });
    // Assess
    expect(lines[0]).not.toContain('s3cr3t');
    expect(lines[0]).toContain(REDACTED);
  });
});
