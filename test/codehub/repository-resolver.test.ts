import { describe, expect, it, vi } from 'vitest';
import { createRepositoryResolver, type RepositoryLookup } from '../../lib/codehub/repository-resolver';
import { CodeHubError, ConfigError, ErrorCodes } from '../../lib/errors';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

const NOT_FOUND = new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'CodeHub resolve repository id of g/x: CH.104404: not found', { status: 404 });

describe('createRepositoryResolver', () => {
  it('splits the path at its last slash into group and name', async () => {
    // Prepare
    const lookup = vi.fn<RepositoryLookup>(async () => 42);
    const resolver = createRepositoryResolver(lookup);

    // Act
    const ids = [await resolver.resolve('acme-mirror/api'), await resolver.resolve('group/sub/deeper/name')];

    // Assess
    expect(ids).toEqual([42, 42]);
    expect(lookup.mock.calls).toEqual([
      ['acme-mirror', 'api', {}],
      ['group/sub/deeper', 'name', {}],
    ]);
  });

  it("passes the caller's deadline to the lookup", async () => {
    // Prepare
    const lookup = vi.fn<RepositoryLookup>(async () => 42);
    const resolver = createRepositoryResolver(lookup);

    // Act
    await resolver.resolve('acme/api', { deadline: 1_234_567 });

    // Assess
    expect(lookup.mock.calls).toEqual([['acme', 'api', { deadline: 1_234_567 }]]);
  });

  it('releases a caller that joined a lookup in flight at its own deadline, with CODEHUB_TIMEOUT', async () => {
    // Prepare
    const clock = manualClock();
    const lookup = vi.fn<RepositoryLookup>(() => new Promise<number>(() => undefined));
    const resolver = createRepositoryResolver(lookup, { now: clock.now });
    void resolver.resolve('acme/api');

    // Act: its deadline is now.
    const error = await resolver.resolve('acme/api', { deadline: clock.now() }).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: ErrorCodes.CODEHUB_TIMEOUT });
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('caches an id for ttlMs (default 10 minutes), then looks it up again', async () => {
    // Prepare
    const clock = manualClock();
    const lookup = vi.fn<RepositoryLookup>().mockResolvedValueOnce(1).mockResolvedValueOnce(2);
    const resolver = createRepositoryResolver(lookup, { now: clock.now });

    // Act
    const first = await resolver.resolve('g/r');
    clock.advance(10 * 60_000 - 1);
    const cached = await resolver.resolve('g/r');
    clock.advance(1);
    const refreshed = await resolver.resolve('g/r');

    // Assess
    expect([first, cached, refreshed]).toEqual([1, 1, 2]);
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it('makes one call for concurrent lookups of one path', async () => {
    // Prepare
    let answer: (id: number) => void = () => undefined;
    const lookup = vi.fn<RepositoryLookup>(() => new Promise<number>((resolve) => (answer = resolve)));
    const resolver = createRepositoryResolver(lookup);

    // Act
    const pending = [resolver.resolve('g/r'), resolver.resolve('g/r'), resolver.resolve('g/r')];
    answer(7);
    const ids = await Promise.all(pending);

    // Assess
    expect(ids).toEqual([7, 7, 7]);
    expect(lookup).toHaveBeenCalledOnce();
  });

  it('remembers a failed lookup for negativeTtlMs (default 30 s), not for ever', async () => {
    // Prepare
    const clock = manualClock();
    const lookup = vi.fn<RepositoryLookup>().mockRejectedValueOnce(NOT_FOUND).mockResolvedValueOnce(9);
    const resolver = createRepositoryResolver(lookup, { now: clock.now });

    // Act
    const first = await resolver.resolve('g/x').catch((error: unknown) => error);
    clock.advance(29_999);
    const remembered = await resolver.resolve('g/x').catch((error: unknown) => error);
    clock.advance(1);
    const retried = await resolver.resolve('g/x');

    // Assess
    expect(first).toBe(NOT_FOUND);
    expect(remembered).toBe(NOT_FOUND);
    expect(retried).toBe(9);
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it.each([ErrorCodes.CODEHUB_TIMEOUT, ErrorCodes.CODEHUB_UNREACHABLE, ErrorCodes.CODEHUB_THROTTLED, ErrorCodes.CODEHUB_SERVER_ERROR])(
    'does not remember a transient failure (%s)',
    async (code) => {
      // Prepare
      const transient = new CodeHubError(code, 'transient');
      const lookup = vi.fn<RepositoryLookup>().mockRejectedValueOnce(transient).mockResolvedValueOnce(5);
      const resolver = createRepositoryResolver(lookup);

      // Act
      const first = await resolver.resolve('g/r').catch((error: unknown) => error);
      const second = await resolver.resolve('g/r');

      // Assess
      expect(first).toBe(transient);
      expect(second).toBe(5);
    },
  );

  it('forgets a lookup that threw before returning a promise', async () => {
    // Prepare
    const lookup = vi
      .fn<RepositoryLookup>()
      .mockImplementationOnce(() => {
        throw new CodeHubError(ErrorCodes.CODEHUB_UNREACHABLE, 'sync throw');
      })
      .mockResolvedValueOnce(3);
    const resolver = createRepositoryResolver(lookup);

    // Act
    const first = await resolver.resolve('g/r').catch((error: unknown) => error);
    await Promise.resolve();
    const second = await resolver.resolve('g/r');

    // Assess
    expect(first).toBeInstanceOf(CodeHubError);
    expect(second).toBe(3);
  });

  it.each(['name-only', '/name', 'group/', ''])('rejects the path %j without a lookup', async (path) => {
    // Prepare
    const lookup = vi.fn<RepositoryLookup>(async () => 1);
    const resolver = createRepositoryResolver(lookup);

    // Act
    const error = await resolver.resolve(path).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('forgets the oldest path beyond maxEntries', async () => {
    // Prepare
    const lookup = vi.fn<RepositoryLookup>(async (_group, name) => Number(name));
    const resolver = createRepositoryResolver(lookup, { maxEntries: 2 });

    // Act
    await resolver.resolve('g/1');
    await resolver.resolve('g/2');
    await resolver.resolve('g/3');
    await resolver.resolve('g/2');
    await resolver.resolve('g/1');

    // Assess
    expect(lookup.mock.calls.map(([, name]) => name)).toEqual(['1', '2', '3', '1']);
  });
});
