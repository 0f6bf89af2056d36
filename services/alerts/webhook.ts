/** One webhook POST of a notification: the body in the webhook's format, signed, and what its answer means for a retry. */
import type { WebhookSettings } from '../common/config.ts';
import { jsonBody, signatureOf, slackBody, WEBHOOK_HEADERS, type Notification } from './notifications.ts';

/** A POST that did not succeed; `retryable` when a later attempt may. */
export class DeliveryFailed extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.name = 'DeliveryFailed';
    this.retryable = retryable;
  }
}

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

/** One attempt. The URL is never in an error: Slack's carry their credential in the path. */
export async function post(webhook: WebhookSettings, notification: Notification, timeoutMs: number): Promise<void> {
  const body = webhook.format === 'slack' ? slackBody(notification) : jsonBody(notification);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'journeyline-alerts',
    [WEBHOOK_HEADERS.delivery]: notification.id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
  };
  if (webhook.secret !== undefined) headers[WEBHOOK_HEADERS.signature] = signatureOf(webhook.secret, timestamp, body);
  let response: Response;
  try {
    response = await fetch(webhook.url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error: unknown) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : '';
    throw new DeliveryFailed(`webhook ${webhook.name} unreachable: ${cause}`, true);
  }
  await response.body?.cancel();
  if (response.ok) return;
  const retryable = response.status >= 500 || RETRYABLE_STATUSES.has(response.status);
  throw new DeliveryFailed(`webhook ${webhook.name} answered ${String(response.status)}`, retryable);
}
