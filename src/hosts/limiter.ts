/**
 * At most `max` tasks at once; the others wait in order. (p-limit, without its import cost on
 * every CLI start.) A finishing task hands its slot straight to the next waiter, so a caller
 * arriving in between can never push the count over `max`.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on: active stays the same
      else this.active--;
    }
  }
}
