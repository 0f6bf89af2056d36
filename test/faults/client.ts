/**
 * A backend as operators run one against the collector under faults: it sends the workload in order,
 * one request at a time at a steady rate, and sends any batch not answered 202 again (same event
 * ids) until it is, so what it calls acknowledged is exactly what the collector answered 202 for.
 */
import { FAULT_API_KEY } from './cluster.ts';

type Json = Record<string, unknown>;

export interface ClientReport {
  readonly acknowledged: number;
  readonly rejected: number;
  readonly requests: number;
  /** Requests answered other than 202 (503 while Kafka is down, a refused connection while the collector restarts). */
  readonly retried: number;
  /** The longest time a batch waited to be acknowledged. */
  readonly longestWaitMs: number;
}

export class RetryingClient {
  private readonly url: () => string;
  private readonly perRequest: number;
  private readonly ratePerS: number;
  private stopped = false;
  private acknowledged = 0;
  private rejected = 0;
  private requests = 0;
  private retried = 0;
  private longestWaitMs = 0;

  constructor(url: () => string, options: { readonly perRequest: number; readonly ratePerS: number }) {
    this.url = url;
    this.perRequest = options.perRequest;
    this.ratePerS = options.ratePerS;
  }

  get sent(): number {
    return this.acknowledged + this.rejected;
  }

  /** Sends every event of `workload`, in order; resolves once all are acknowledged (or `stop` was called). */
  async send(workload: readonly Json[]): Promise<ClientReport> {
    const began = performance.now();
    for (let i = 0; i < workload.length && !this.stopped; i += this.perRequest) {
      const due = began + (i / this.ratePerS) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await this.deliver(workload.slice(i, i + this.perRequest));
    }
    return this.report();
  }

  stop(): void {
    this.stopped = true;
  }

  report(): ClientReport {
    const { acknowledged, rejected, requests, retried, longestWaitMs } = this;
    return { acknowledged, rejected, requests, retried, longestWaitMs: Math.round(longestWaitMs) };
  }

  private async deliver(batch: readonly Json[]): Promise<void> {
    const began = performance.now();
    for (;;) {
      this.requests++;
      const answer: { status: number; body: { accepted?: number; rejected?: number } } = await fetch(`${this.url()}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FAULT_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(60_000),
      }).then(
        async (response) => ({
          status: response.status,
          body: (await response.json().catch(() => ({}))) as { accepted?: number; rejected?: number },
        }),
        () => ({ status: 0, body: {} }),
      );
      if (answer.status === 202 || answer.status === 422) {
        this.acknowledged += answer.body.accepted ?? 0;
        this.rejected += answer.body.rejected ?? 0;
        this.longestWaitMs = Math.max(this.longestWaitMs, performance.now() - began);
        return;
      }
      this.retried++;
      if (this.stopped) return;
      await sleep(500);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
