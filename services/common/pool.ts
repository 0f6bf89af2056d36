/**
 * A fixed set of things (engine sessions, insert clients) lent out one caller at a time: a caller
 * waits for a free one up to a deadline, then gets the pool's `busy` error instead of queueing
 * for ever.
 */
export class Pool<T> {
  readonly items: readonly T[];
  private readonly free: T[];
  private readonly waiting: ((item: T) => void)[] = [];
  private readonly busy: (waitedMs: number) => Error;

  constructor(items: readonly T[], busy: (waitedMs: number) => Error) {
    this.items = items;
    this.free = [...items];
    this.busy = busy;
  }

  /** Runs `work` with a free item, waiting at most `waitMs` for one. */
  async with<R>(waitMs: number, work: (item: T) => Promise<R>): Promise<R> {
    const item = await this.take(waitMs);
    try {
      return await work(item);
    } finally {
      this.give(item);
    }
  }

  private take(waitMs: number): Promise<T> {
    const item = this.free.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(handOver), 1);
        reject(this.busy(waitMs));
      }, waitMs);
      const handOver = (given: T) => {
        clearTimeout(timer);
        resolve(given);
      };
      this.waiting.push(handOver);
    });
  }

  private give(item: T): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(item);
    else this.free.push(item);
  }
}
