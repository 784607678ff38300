import { describe, expect, it } from 'vitest';
import { REDACTED, redact, redactText } from '../../lib/observability/redact';

describe('redact', () => {
  it('keeps ordinary fields as they are', () => {
    // Act
    const out = redact({ repository_id: 1, refs: ['refs/heads/main'] });
    // Assess
    expect(out).toEqual({ repository_id: 1, refs: ['refs/heads/main'] });
  });

  it('replaces secret-named fields at any depth and describes errors, keeping other objects', () => {
    // Prepare
    const at = new Date(0);
    const error = Object.assign(new Error('boom'), { code: 'E_BOOM', secret: 's3cr3t' });
    // Act
    const out = redact({ headers: { Authorization: 's3cr3t' }, list: [{ password: 's3cr3t', ok: 1 }], sk: 's3cr3t', error, at });
    // Assess
    expect(out).toEqual({
      headers: { Authorization: REDACTED },
      list: [{ password: REDACTED, ok: 1 }],
      sk: REDACTED,
      error: { name: 'Error', message: 'boom', code: 'E_BOOM' },
      at,
    });
  });
});

describe('redactText', () => {
  it('strips the userinfo of a URL in any scheme, without being told a secret', () => {
    // Prepare
    const text = [
      "fatal: unable to access 'https://mirror-bot:ghp_Secret123@github.com/acme/api.git/'",
      'ssh://git@gitlab.example/acme/api.git',
      'git+https://user:p%40ss@host:8443/x',
      'https://github.com/acme/api.git stays',
    ].join('\n');
    // Act
    const out = redactText(text);
    // Assess
    expect(out).toBe(
      [
        "fatal: unable to access 'https://<redacted>@github.com/acme/api.git/'",
        'ssh://<redacted>@gitlab.example/acme/api.git',
        'git+https://<redacted>@host:8443/x',
        'https://github.com/acme/api.git stays',
      ].join('\n'),
    );
  });

  it('strips each secret as is, base64, base64 without padding, base64url and percent-encoded', () => {
    // Prepare
    const secret = 's3cr3t>>?~~';
    const base64 = Buffer.from(secret).toString('base64');
    const forms = [secret, base64, base64.replace(/=+$/, ''), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret)];
    // Act
    const outs = forms.map((form) => redactText(`before ${form} after`, [secret]));
    // Assess
    expect(new Set(forms).size).toBe(5);
    expect(outs).toEqual(Array(5).fill('before <redacted> after'));
  });

  it('strips the values of token-bearing header lines in a canonical request as APIG reports it', () => {
    // Act
    const out = redactText('POST|/v4/x/|content-type:application/json|x-security-token:sts-abc|x-auth-token:tok|authorization:SDK k');
    // Assess
    expect(out).toBe('POST|/v4/x/|content-type:application/json|x-security-token:<redacted>|x-auth-token:<redacted>|authorization:<redacted>');
  });

  it('replaces a secret that contains another one whole, and leaves strings under 4 characters alone', () => {
    // Act
    const out = redactText('token abcdef-long, abc', ['abc', 'abcd', 'abcdef-long']);
    // Assess
    expect(out).toBe('token <redacted>, abc');
  });
});
