import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import {
  formField,
  isZeroSha,
  parseJsonObject,
  stringField,
  verifyHexSha256Header,
} from '../../lib/providers/shared';

describe('formField', () => {
  it('decodes "+" as a space and %XX as bytes', () => {
    // Prepare
    const body = Buffer.from('a=1&payload=%7B%22m%22%3A%22x+y%C3%A9%2B%22%7D&b=2');

    // Act
    const field = formField(body, 'payload');

    // Assess
    expect(field?.toString('utf8')).toBe('{"m":"x yé+"}');
  });

  it('keeps a malformed percent sequence as it is', () => {
    // Prepare
    const body = Buffer.from('payload=100%25%zz%4');

    // Act
    const field = formField(body, 'payload');

    // Assess
    expect(field?.toString('utf8')).toBe('100%%zz%4');
  });

  it('returns the exact bytes, even when they are not valid UTF-8', () => {
    // Prepare
    const body = Buffer.from('payload=%FF%FE');

    // Act
    const field = formField(body, 'payload');

    // Assess
    expect(field).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('returns undefined when the field is absent', () => {
    // Prepare
    const body = Buffer.from('payloads=1&xpayload=2');

    // Act
    const field = formField(body, 'payload');

    // Assess
    expect(field).toBeUndefined();
  });

  it('returns an empty value for a field without "="', () => {
    // Prepare
    const body = Buffer.from('payload');

    // Act
    const field = formField(body, 'payload');

    // Assess
    expect(field).toEqual(Buffer.alloc(0));
  });
});

describe('parseJsonObject', () => {
  it('parses a JSON object', () => {
    // Prepare
    const text = '{"ref":"refs/heads/main"}';

    // Act
    const parsed = parseJsonObject(text);

    // Assess
    expect(parsed).toEqual({ ref: 'refs/heads/main' });
  });

  it.each(['null', '42', '"text"', '[]', 'true'])('throws PayloadError for the JSON value %s', (text) => {
    // Prepare
    const bytes = Buffer.from(text);

    // Act
    const act = () => parseJsonObject(bytes);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError with the parse error as cause for text that is not JSON', () => {
    // Prepare
    const text = "{'single': 'quotes'}";

    // Act
    let thrown: unknown;
    try {
      parseJsonObject(text);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(PayloadError);
    expect((thrown as PayloadError).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('stringField', () => {
  it('reads own fields only', () => {
    // Prepare
    const parsed = parseJsonObject('{"__proto__":{"ref":"refs/heads/evil"}}');

    // Act
    const values = [stringField(parsed, 'ref'), stringField(parsed, 'toString'), stringField(parsed, '__proto__')];

    // Assess
    expect(values).toEqual([undefined, undefined, undefined]);
  });
});

describe('isZeroSha', () => {
  it('recognises SHA-1 and SHA-256 zero ids only', () => {
    // Prepare
    const candidates = ['0'.repeat(40), '0'.repeat(64), '0'.repeat(39), `${'0'.repeat(39)}1`, ''];

    // Act
    const results = candidates.map(isZeroSha);

    // Assess
    expect(results).toEqual([true, true, false, false, false]);
  });
});

describe('verifyHexSha256Header', () => {
  it('never puts the expected digest in its message', () => {
    // Prepare
    const data = Buffer.from('payload');
    const expected = createHmac('sha256', 'secret').update(data).digest('hex');

    // Act
    const result = verifyHexSha256Header(data, `sha256=${'0'.repeat(64)}`, ['secret'], 'X-Test');

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
    expect(JSON.stringify(result)).not.toContain(expected);
  });

  it('reports the first matching secret when several match', () => {
    // Prepare
    const data = Buffer.from('payload');
    const header = `sha256=${createHmac('sha256', 'same').update(data).digest('hex')}`;

    // Act
    const result = verifyHexSha256Header(data, header, ['other', 'same', 'same']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });
});
