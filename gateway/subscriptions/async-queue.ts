/**
 * A push-to-pull bridge: producers `push`, graphql-ws pulls with `for await`. `return()` (the
 * client stopped, or the socket closed) runs `onClose` once, which releases what the
 * subscription holds.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiting: ((result: IteratorResult<T>) => void)[] = [];
  private closed = false;

  constructor(
    private readonly onClose: () => Promise<void>,
    private readonly limit = 1_000,
  ) {}

  push(item: T): void {
    if (this.closed) return;
    const next = this.waiting.shift();
    if (next) return next({ value: item, done: false });
    // A client that reads nothing for this long is gone or broken: stop feeding it.
    if (this.items.length >= this.limit) {
      void this.return();
      return;
    }
    this.items.push(item);
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.closed) {
      this.closed = true;
      this.items.length = 0;
      for (const resolve of this.waiting.splice(0)) resolve({ value: undefined, done: true });
      await this.onClose();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
