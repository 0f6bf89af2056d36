/**
 * Which failures a service waits out and which stop it. A broker restarting, a coordinator moving,
 * a registry or ClickHouse gone for a while pass; a refused login, a missing permission or a bug do
 * not, however often they are retried. kafkajs calls some passing faults non-retriable (a group
 * coordinator not found during a broker restart, retries exhausted on a connection error), so the
 * decision is made here, on the whole chain of causes, not on kafkajs's flag alone.
 */
import { isRetryableClickHouseError } from './retry.ts';

/** kafkajs errors of a cluster that is restarting, moving leaders or unreachable for a while. */
const TRANSIENT_KAFKA_ERRORS: ReadonlySet<string> = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
]);

/**
 * Protocol errors kafkajs does not retry that a new attempt gets past: a member the coordinator
 * expired while the broker was frozen (its next commit or heartbeat: rejoin the group), and a
 * transaction the broker aborted and fenced while its commit was delayed (a new producer).
 */
const TRANSIENT_PROTOCOL_TYPES: ReadonlySet<string> = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_TXN_STATE',
  'TRANSACTION_COORDINATOR_FENCED',
  'UNKNOWN_PRODUCER_ID',
]);

/**
 * What an idempotent or transactional producer cannot get past itself: the broker lost track of its
 * sequence (a request timed out while the broker was frozen, and was written after all) or of its
 * id. Only a new producer (a new producer id) sends again.
 */
const PRODUCER_STATE_LOST: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
]);

/** Programming errors: retrying them only hides them. */
const BUGS: ReadonlySet<string> = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** An error and every cause under it (kafkajs nests them in `cause`, an aggregate in `errors`). */
function* chainOf(error: unknown, depth = 0): Generator {
  if (depth > 10 || error === undefined || error === null) return;
  yield error;
  if (typeof error !== 'object') return;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  yield* chainOf(cause, depth + 1);
  if (Array.isArray(errors)) for (const inner of errors) yield* chainOf(inner, depth + 1);
}

function isTransientLink(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (TRANSIENT_KAFKA_ERRORS.has(error.name)) return true;
  const { retriable, type } = error as { retriable?: unknown; type?: unknown };
  if (error.name === 'KafkaJSProtocolError') return retriable === true || (typeof type === 'string' && TRANSIENT_PROTOCOL_TYPES.has(type));
  // Sockets and HTTP servers (the registry, ClickHouse) gone, refusing or timing out.
  return isRetryableClickHouseError(error) || /^5\d\d$/.test(String((error as { status?: unknown }).status));
}

/** Whether a later attempt may get past `error`: something in its chain passes, and nothing in it is a bug. */
export function isTransientFault(error: unknown): boolean {
  const chain = [...chainOf(error)];
  if (chain.some((link) => link instanceof Error && BUGS.has(link.name))) return false;
  return chain.some(isTransientLink);
}

/** Whether a failed send leaves the producer unable to send again: it must be replaced. */
export function producerStateLost(error: unknown): boolean {
  return [...chainOf(error)].some((link) => {
    const type = (link as { type?: unknown } | null)?.type;
    return typeof type === 'string' && PRODUCER_STATE_LOST.has(type);
  });
}

/** The innermost message of an error's chain: what an operator needs to read. */
export function rootMessageOf(error: unknown): string {
  const chain = [...chainOf(error)];
  const root = chain.at(-1);
  return root instanceof Error ? `${root.name}: ${root.message}` : String(root);
}
