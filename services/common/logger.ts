import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr (synchronous: nothing is lost when a service exits), so stdout stays free for what a command prints. */
export function createLogger(level: string, name = 'journeyline'): Logger {
  return pino({ name, level, base: { service: name } }, pino.destination({ fd: 2, sync: true }));
}
