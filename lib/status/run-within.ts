/**
 * Runs `task` for each of `items`, `concurrency` at a time, until every task is done (true) or
 * `deadline` (epoch ms by `now`) passes (false). Tasks still running at the deadline go on: callers
 * keep or drop what they bring, but the page is answered on time.
 */
export async function runWithin<T>(items: readonly T[], deadline: number, concurrency: number, now: () => number, task: (item: T) => Promise<void>): Promise<boolean> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && now() < deadline) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - now()));
  });
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, worker);
  const done = await Promise.race([Promise.all(workers).then(() => true), expired]);
  clearTimeout(timer);
  return done;
}
