/**
 * How sagactl writes: to injected streams (so tests run it in-process), aligned tables with
 * colour only on a terminal and never with `NO_COLOR`, JSON for scripts, and the few formats
 * of times, durations and statuses every command shares.
 */
import { type Cell, formatTable } from "../lib/format/table.ts";
import type { SagaStatus } from "../lib/saga/mod.ts";

/** Where sagactl reads its environment and writes its output. */
export interface Io {
  env: Record<string, string | undefined>;
  /** Writes text as is (callers add newlines). */
  stdout(text: string): void;
  stderr(text: string): void;
  stdoutIsTerminal: boolean;
  stderrIsTerminal: boolean;
  stdinIsTerminal: boolean;
  /** Asks a yes/no question on the terminal; resolves false on anything but yes. */
  confirm(question: string): Promise<boolean>;
}

/** The process's own streams. */
export function processIo(): Io {
  const encoder = new TextEncoder();
  const writeAll = (stream: typeof Deno.stdout, text: string) => {
    const bytes = encoder.encode(text);
    for (let written = 0; written < bytes.length;) {
      written += stream.writeSync(bytes.subarray(written));
    }
  };
  return {
    env: Deno.env.toObject(),
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    confirm(question) {
      const answer = prompt(`${question} [y/N]`);
      return Promise.resolve(answer !== null && /^(y|yes)$/i.test(answer.trim()));
    },
  };
}

/** Whether to colour what goes to a stream: only a terminal, and never with `NO_COLOR` set. */
export function colourWanted(
  env: Record<string, string | undefined>,
  isTerminal: boolean,
  flag = true,
): boolean {
  const noColor = env.NO_COLOR;
  return flag && isTerminal && (noColor === undefined || noColor === "");
}

/** ANSI colour codes used by sagactl. */
export const COLOURS = {
  bold: 1,
  dim: 2,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  grey: 90,
} as const;

const STATUS_COLOURS: Record<SagaStatus, number> = {
  STARTED: COLOURS.cyan,
  IN_PROGRESS: COLOURS.cyan,
  COMPLETED: COLOURS.green,
  COMPENSATING: COLOURS.magenta,
  COMPENSATED: COLOURS.yellow,
  FAILED: COLOURS.red,
  COMPENSATION_FAILED: COLOURS.red,
  CANCELLED: COLOURS.grey,
};

/** Writes lines and tables to one stream, coloured or not. */
export interface Printer {
  colour: boolean;
  line(text?: string): void;
  table(headers: readonly string[], rows: readonly (readonly Cell[])[]): void;
  json(value: unknown): void;
  /** `text` in colour `code` when colouring, else as is. */
  paint(text: string, code: number): string;
}

/** A printer for stdout (`colour` decided by `colourWanted`). */
export function printer(write: (text: string) => void, colour: boolean): Printer {
  return {
    colour,
    line: (text = "") => write(`${text}\n`),
    table: (headers, rows) => write(`${formatTable(headers, rows, { colour })}\n`),
    json: (value) => write(`${JSON.stringify(value, null, 2)}\n`),
    paint: (text, code) => colour ? `\x1b[${code}m${text}\x1b[0m` : text,
  };
}

/** A status as a table cell in its colour. */
export function statusCell(status: string): Cell {
  const colour = STATUS_COLOURS[status as SagaStatus];
  return colour === undefined ? status : { text: status, colour };
}

/** The colour code of a status (for lines outside tables). */
export function statusColour(status: string): number {
  return STATUS_COLOURS[status as SagaStatus] ?? COLOURS.bold;
}

/** A duration for humans: `850ms`, `1.25s`, `12.3s`, `30s`, `4m05s`, `2h03m`, `3d04h`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  const sign = ms < 0 ? "-" : "";
  if (abs < 1_000) return `${sign}${Math.round(abs)}ms`;
  if (abs < 60_000) {
    const seconds = (abs / 1_000).toFixed(abs < 10_000 ? 2 : 1).replace(/\.?0+$/, "");
    return `${sign}${seconds}s`;
  }
  const seconds = Math.floor(abs / 1_000);
  if (seconds < 3_600) return `${sign}${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  if (seconds < 86_400) {
    return `${sign}${Math.floor(seconds / 3_600)}h${pad(Math.floor(seconds / 60) % 60)}m`;
  }
  return `${sign}${Math.floor(seconds / 86_400)}d${pad(Math.floor(seconds / 3_600) % 24)}h`;
}

/** How long ago `then` was: `12.0s ago`, or `in 3.00s` for a time still to come. */
export function formatAgo(then: Date, now: Date): string {
  const ms = now.getTime() - then.getTime();
  return ms >= 0 ? `${formatDuration(ms)} ago` : `in ${formatDuration(-ms)}`;
}

/** A timestamp in UTC, to the millisecond: `2026-01-31 23:59:58.123Z`. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace("T", " ");
}

/** The time of day in UTC, to the millisecond: `23:59:58.123`. */
export function formatClock(date: Date): string {
  return date.toISOString().slice(11, 23);
}

/** `text` cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** A date or null as ISO-8601 for JSON. */
export function isoOrNull(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : date.toISOString();
}

/** A placeholder for an absent value in a table. */
export const NONE = "—";

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
