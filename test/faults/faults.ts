/**
 * The faults the suite injects, each as an operator or a machine would cause it, returning once the
 * fault is over (the component is back or thawed): what happens after is the product's to ride out.
 */
import type { FaultCluster, ServiceName } from './cluster.ts';

export interface FaultTimings {
  /** How long a killed broker or registry stays down before it is started again. */
  readonly downS: number;
  /** How long a broker stays frozen (SIGSTOP). */
  readonly kafkaFreezeS: number;
  /** How long the registry stays frozen. */
  readonly registryFreezeS: number;
}

export interface Fault {
  readonly what: string;
  inject(cluster: FaultCluster, timings: FaultTimings): Promise<void>;
}

const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));

const killAndRestart = (component: 'kafka' | 'registry'): Fault['inject'] => {
  return async (cluster, timings) => {
    await cluster.stack.waitGone(cluster.stack.signal(component, 'SIGKILL'));
    await sleep(timings.downS);
    await cluster.stack.startAgain(component);
  };
};

const freeze =
  (component: 'kafka' | 'registry', seconds: (timings: FaultTimings) => number): Fault['inject'] =>
  async (cluster, timings) => {
    cluster.stack.signal(component, 'SIGSTOP');
    try {
      await sleep(seconds(timings));
    } finally {
      cluster.stack.signal(component, 'SIGCONT');
    }
  };

/** A service SIGKILLed (the collector mid-request: traffic never pauses) and started again 2 s later, as a supervisor would. */
const serviceKill =
  (service: ServiceName): Fault['inject'] =>
  async (cluster) => {
    await cluster.endService(service, 'SIGKILL');
    await sleep(2);
    cluster.startService(service);
  };

export const FAULTS = {
  'kafka-kill': { what: 'the broker SIGKILLed, started again on its data after downS', inject: killAndRestart('kafka') },
  'kafka-freeze': { what: 'the broker frozen (SIGSTOP) for kafkaFreezeS, then thawed', inject: freeze('kafka', (t) => t.kafkaFreezeS) },
  'registry-kill': { what: 'the schema registry SIGKILLed, started again after downS', inject: killAndRestart('registry') },
  'registry-freeze': {
    what: 'the schema registry frozen for registryFreezeS, then thawed',
    inject: freeze('registry', (t) => t.registryFreezeS),
  },
  'processor-kill': { what: '`journey run processor` SIGKILLed, started again 2 s later', inject: serviceKill('processor') },
  'sink-kill': { what: '`journey run sink` SIGKILLed, started again 2 s later', inject: serviceKill('sink') },
  'collector-kill': { what: '`journey run collector` SIGKILLed mid-request, started again 2 s later', inject: serviceKill('collector') },
} as const satisfies Record<string, Fault>;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];
