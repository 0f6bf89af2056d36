import { describe, expect, it } from 'vitest';
import { DependencyProbe, readinessOf, readinessReply } from './readiness.ts';

/** A probe whose answers a spec scripts: true/false, 'refused' (throws), or 'hangs' (never settles). */
function scripted(answers: ('yes' | 'no' | 'refused' | 'hangs')[]) {
  return () => {
    const answer = answers.shift() ?? 'yes';
    if (answer === 'hangs') return new Promise<boolean>(() => undefined);
    if (answer === 'refused') return Promise.reject(new Error('connect ECONNREFUSED'));
    return Promise.resolve(answer === 'yes');
  };
}

describe('DependencyProbe', () => {
  it('says slow, not down, for a dependency that answered recently but not in time; down once it stays silent', async () => {
    let now = 0;
    const probe = new DependencyProbe(scripted(['yes', 'hangs', 'hangs', 'yes', 'refused', 'no']), {
      timeoutMs: 20,
      downAfterMs: 15_000,
      now: () => now,
    });
    const states = [];
    states.push(await probe.check());
    now = 5_000;
    states.push(await probe.check());
    now = 16_000;
    states.push(await probe.check());
    states.push(await probe.check());
    states.push(await probe.check());
    states.push(await probe.check());
    expect(states).toEqual(['up', 'slow', 'down', 'up', 'down', 'down']);
  });
});

describe('readiness', () => {
  it('is ready while nothing is down, and names what is', async () => {
    const up = new DependencyProbe(scripted(['yes', 'yes']), { timeoutMs: 20, downAfterMs: 1_000 });
    const slow = new DependencyProbe(scripted(['hangs', 'hangs']), { timeoutMs: 20, downAfterMs: 60_000 });
    const busy = await readinessOf({ kafka: up, registry: slow });
    const deadService = await readinessOf({ kafka: up, registry: slow }, ['services']);
    expect([readinessReply(busy), readinessReply(deadService)]).toEqual([
      { status: 200, body: { status: 'ready', dependencies: { kafka: 'up', registry: 'slow' } } },
      {
        status: 503,
        body: { error: 'not ready: services down', dependencies: { kafka: 'up', registry: 'slow', services: 'down' } },
      },
    ]);
  });
});
