/**
 * sagactl's exit codes and error policy: every failure ends as one line on stderr, no stack
 * trace, with exit code 2 for a usage error and 1 for anything operational.
 */
import { ConfigError } from "../lib/errors/mod.ts";

/** The exit codes sagactl documents (see `sagactl --help`). */
export const EXIT_CODES = {
  /** Done; with `--wait`, the saga COMPLETED (or, for `saga retry`, COMPENSATED). */
  ok: 0,
  /** Operational error: unknown id, refused action, Kafka/PostgreSQL/Redis unreachable. */
  operational: 1,
  /** Usage error: unknown option, malformed argument such as a bad UUID or `--item`. */
  usage: 2,
  /** With `--wait`: the saga ended in another final status (COMPENSATED, FAILED, …). */
  notCompleted: 3,
  /** With `--wait`: the saga was not final before `--timeout`. */
  timeout: 4,
} as const;

/** A mistake in how sagactl was called; exits with code 2. */
export class UsageError extends Error {
  /** The command whose `--help` explains the usage, e.g. `saga retry`. */
  readonly command: string | undefined;

  /** Builds the error; `message` is the line printed (sentence case, no final period). */
  constructor(message: string, options: { command?: string } = {}) {
    super(message);
    this.name = "UsageError";
    this.command = options.command;
  }
}

/** The one line printed for an error that ends sagactl. */
export function describeError(error: unknown): string {
  if (error instanceof UsageError || error instanceof ConfigError) return oneLine(error.message);
  const pgCode = postgresCode(error);
  if (pgCode === "42P01") {
    return oneLine(
      `PostgreSQL: ${messageOf(error)} (is the database migrated? run "deno task db:migrate")`,
    );
  }
  if (pgCode !== undefined) return oneLine(`PostgreSQL: ${messageOf(error)}`);
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name === "string" && name.startsWith("KafkaJS")) {
    if (kafkaErrorType(error) === "UNKNOWN_TOPIC_OR_PARTITION") {
      return "Kafka: the topic does not exist (check KAFKA_BROKERS and KAFKA_NAMESPACE; the services create their topics when they start)";
    }
    return oneLine(`Kafka: ${messageOf(error)}`);
  }
  return oneLine(messageOf(error));
}

/** The Kafka protocol error type (e.g. `UNKNOWN_TOPIC_OR_PARTITION`), looked up the causes. */
export function kafkaErrorType(error: unknown): string | undefined {
  let current = error as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current.type === "string") return current.type;
    current = (current.cause ?? current.originalError) as typeof current;
  }
  return undefined;
}

/** The exit code for an error that ends sagactl. */
export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? EXIT_CODES.usage : EXIT_CODES.operational;
}

/**
 * Why a connection failed, in a few words: `connection refused`, `no answer within 3 s`,
 * `unknown host`, or the client's own message.
 */
export function connectionProblem(error: unknown, timeoutMs: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  const text = messageOf(error);
  if (code === "ECONNREFUSED" || /ECONNREFUSED|connection refused/i.test(text)) {
    return "connection refused";
  }
  if (
    code === "CONNECT_TIMEOUT" || code === "ETIMEDOUT" || /timed? ?out|CONNECT_TIMEOUT/i.test(text)
  ) {
    return `no answer within ${formatSeconds(timeoutMs)}`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /ENOTFOUND|EAI_AGAIN/.test(text)) {
    return "unknown host";
  }
  return text;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function postgresCode(error: unknown): string | undefined {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  // postgres.js server errors carry the SQLSTATE and a severity.
  return typeof code === "string" && typeof severity === "string" && /^[0-9A-Z]{5}$/.test(code)
    ? code
    : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Collapses whitespace runs (newlines included) so a message stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
