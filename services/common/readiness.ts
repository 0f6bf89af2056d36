/**
 * What /readyz says of each dependency, truthfully: `up` when it answered, `down` when it refused
 * or said no, and — when it did not answer within the probe's deadline — `slow` while it answered
 * recently (a box busy with its own load is not an outage), `down` once it has not answered for
 * `downAfterMs` (a frozen broker). A health signal that cries wolf under load is one operators
 * learn to ignore.
 */
import { DeadlineExceeded, withinDeadline } from './poll.ts';

export type DependencyState = 'up' | 'slow' | 'down';

export interface ReadinessReport {
  /** Nothing is down (slow is still ready). */
  readonly ready: boolean;
  readonly dependencies: Readonly<Record<string, DependencyState>>;
}

export interface ProbeOptions {
  /** How long one probe may take before the dependency counts as slow. */
  readonly timeoutMs: number;
  /** How long without an answer before a slow dependency counts as down. */
  readonly downAfterMs: number;
  readonly now?: () => number;
}

/** One dependency's probe, remembering when it last answered. */
export class DependencyProbe {
  private readonly probe: () => Promise<boolean>;
  private readonly options: ProbeOptions;
  private readonly now: () => number;
  private lastAnswerAt: number;

  constructor(probe: () => Promise<boolean>, options: ProbeOptions) {
    this.probe = probe;
    this.options = options;
    this.now = options.now ?? Date.now;
    // A dependency never heard from gets the benefit of the doubt for one window, as after an answer.
    this.lastAnswerAt = this.now();
  }

  async check(): Promise<DependencyState> {
    try {
      const answered = await withinDeadline(this.probe(), this.options.timeoutMs, 'the readiness probe');
      this.lastAnswerAt = this.now();
      return answered ? 'up' : 'down';
    } catch (error: unknown) {
      if (!(error instanceof DeadlineExceeded)) return 'down';
      return this.now() - this.lastAnswerAt < this.options.downAfterMs ? 'slow' : 'down';
    }
  }
}

/** The report over named probes, checked together; `alsoDown` names what is known down without asking (a dead service). */
export async function readinessOf(
  probes: Readonly<Record<string, DependencyProbe>>,
  alsoDown: readonly string[] = [],
): Promise<ReadinessReport> {
  const states = await Promise.all(Object.entries(probes).map(async ([name, probe]) => [name, await probe.check()] as const));
  const dependencies: Record<string, DependencyState> = Object.fromEntries(states);
  for (const name of alsoDown) dependencies[name] = 'down';
  return { ready: Object.values(dependencies).every((state) => state !== 'down'), dependencies };
}

/** /readyz's answer: 200 while nothing is down (what is slow is named, still ready), else 503 naming what is down. */
export function readinessReply(report: ReadinessReport): { status: number; body: Record<string, unknown> } {
  const down = Object.entries(report.dependencies).flatMap(([name, state]) => (state === 'down' ? [name] : []));
  return report.ready
    ? { status: 200, body: { status: 'ready', dependencies: report.dependencies } }
    : { status: 503, body: { error: `not ready: ${down.join(', ')} down`, dependencies: report.dependencies } };
}
