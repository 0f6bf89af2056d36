/**
 * SIGINT and SIGTERM, heard from the moment a `journey` process begins: Ctrl-C while the stack or a
 * service is still starting stops what started (the stack included) instead of leaving it behind.
 */
export class Signals {
  /** The first signal heard. */
  readonly first: Promise<NodeJS.Signals>;

  constructor() {
    this.first = new Promise((resolve) => {
      process.on('SIGINT', resolve);
      process.on('SIGTERM', resolve);
    });
  }

  /** `work`'s value, or the signal if one comes first (`work` is not cancelled: the caller stops what it starts). */
  async unlessSignalled<T>(work: Promise<T>): Promise<{ readonly value: T } | { readonly signal: NodeJS.Signals }> {
    return Promise.race([work.then((value) => ({ value })), this.first.then((signal) => ({ signal }))]);
  }
}
