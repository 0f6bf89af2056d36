/** A webhook receiver for the alerting tests: records every POST and whether its signature holds. */
import { createServer, type Server } from 'node:http';
import type { AlertRecord } from '../../schemas/alert-records.ts';
import { verifySignature, WEBHOOK_HEADERS } from '../../services/alerts/notifications.ts';

export interface Delivery {
  /** X-Journeyline-Delivery: the same on every retry of one notification. */
  readonly id: string;
  readonly signed: boolean;
  readonly body: { readonly segment: string; readonly alerts: readonly AlertRecord[] };
}

export interface WebhookReceiver {
  readonly server: Server;
  readonly url: string;
  readonly deliveries: Delivery[];
}

/**
 * Listens on `port` (any free one when 0) and answers the `statuses` in turn, the last one from
 * then on (204 when none are given).
 */
export async function webhookReceiver(
  secret: string,
  options: { port?: number; statuses?: readonly number[] } = {},
): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const statuses = options.statuses ?? [204];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => [request.headers[name]].flat()[0];
      const headers = { signature: header(WEBHOOK_HEADERS.signature), timestamp: header(WEBHOOK_HEADERS.timestamp) };
      deliveries.push({
        id: header(WEBHOOK_HEADERS.delivery) ?? '',
        signed: verifySignature(secret, headers, body, Date.now()),
        body: JSON.parse(body) as Delivery['body'],
      });
      response.writeHead(statuses[Math.min(deliveries.length - 1, statuses.length - 1)] ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the receiver has no address');
  return { server, url: `http://127.0.0.1:${String(address.port)}/hooks/alerts`, deliveries };
}
