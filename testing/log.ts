/** A logger for tests that keeps the lines it writes, to assert on what was logged at which level. */
import { createLogger, type Logger, type LogLevel } from "../lib/log/mod.ts";

/** A line as the logger wrote it, parsed: its level, message and fields. */
export interface LoggedLine {
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

/** A logger of `service` writing lines from `level` on (default `info`) into `lines`, parsed. */
export function capturingLogger(
  service: string,
  options: { level?: LogLevel } = {},
): { log: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const log = createLogger(service, {
    level: options.level ?? "info",
    write: (line) => lines.push(JSON.parse(line) as LoggedLine),
  });
  return { log, lines };
}

/** What each line says of a command handled: level, message, order, reply, and a failure's code and reason. */
export function handledLines(lines: readonly LoggedLine[]): unknown[][] {
  return lines.map(({ level, msg, orderId, reply, code, reason }) => [
    level,
    msg,
    orderId,
    reply,
    code,
    reason,
  ]);
}
