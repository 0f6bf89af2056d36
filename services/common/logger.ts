import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

/** The one logger of every service (pino); secrets are never passed to it. */
export type { Logger };

/** json: one JSON object a line; pretty: a readable line a record; auto: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Logs on stderr, synchronously (nothing is lost when a service exits), so stdout stays free for
 * what a command prints. A person at a terminal reads lines; a collector reads JSON.
 */
export function createLogger(level: string, name = 'journeyline', format: LogFormat = 'json'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY);
  const destination = pretty
    ? PinoPretty({
        destination: 2,
        sync: true,
        colorize: true,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,service,name,logger',
        messageKey: 'msg',
      })
    : pino.destination({ fd: 2, sync: true });
  return pino({ name, level, base: { service: name } }, destination);
}
