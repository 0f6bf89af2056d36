/**
 * Retries with exponential backoff for errors a later attempt can get past (a server restarting,
 * a network blip, too many parts for a moment), and nothing else: a syntax or schema error thrown
 * a hundred times is still that error.
 */

/** ClickHouse error codes worth retrying (src/Common/ErrorCodes.cpp). */
const RETRYABLE_CLICKHOUSE_CODES: ReadonlySet<string> = new Set([
  '3', // UNEXPECTED_END_OF_FILE
  '159', // TIMEOUT_EXCEEDED
  '164', // READONLY (a replica in read-only mode while Keeper is away)
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '203', // NO_FREE_CONNECTION
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '236', // ABORTED
  '241', // MEMORY_LIMIT_EXCEEDED
  '242', // TABLE_IS_READ_ONLY
  '252', // TOO_MANY_PARTS: merges behind, for a while (but see PERMANENT_MESSAGES)
  '285', // TOO_FEW_LIVE_REPLICAS
  '319', // UNKNOWN_STATUS_OF_INSERT
  '425', // SYSTEM_ERROR
  '999', // KEEPER_EXCEPTION
]);

const RETRYABLE_SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/**
 * Errors whose code is retryable in general but whose message says this very request can never
 * succeed: TOO_MANY_PARTS also means "this block spans more partitions than allowed".
 */
const PERMANENT_MESSAGES: readonly RegExp[] = [/Too many partitions for single INSERT block/i];

export function isRetryableClickHouseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (PERMANENT_MESSAGES.some((pattern) => pattern.test(error.message))) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (RETRYABLE_CLICKHOUSE_CODES.has(code) || RETRYABLE_SOCKET_CODES.has(code))) return true;
  if (/socket hang up|Timeout error|timed out/i.test(error.message)) return true;
  return error.cause !== undefined && isRetryableClickHouseError(error.cause);
}

export interface RetryOptions {
  readonly isRetryable: (error: unknown) => boolean;
  readonly firstBackoffMs?: number;
  readonly maxBackoffMs: number;
  /** Called before each wait: pause upstream, heartbeat, log. */
  readonly onRetry?: (error: unknown, attempt: number, backoffMs: number) => Promise<void> | void;
  /** Called while waiting, about every second; a thrown error ends the retries. */
  readonly whileWaiting?: () => Promise<void> | void;
  /** At most this many attempts; unbounded when unset. */
  readonly attempts?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function retryWithBackoff<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  let backoff = options.firstBackoffMs ?? 200;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error: unknown) {
      if (!options.isRetryable(error) || n === options.attempts) throw error;
      await options.onRetry?.(error, n, backoff);
      for (let waited = 0; waited < backoff; waited += 1000) {
        await sleep(Math.min(1000, backoff - waited));
        await options.whileWaiting?.();
      }
      backoff = Math.min(backoff * 2, options.maxBackoffMs);
    }
  }
}
