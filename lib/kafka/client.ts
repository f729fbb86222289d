/** The one place a kafkajs client is built, with settings suited to the local single broker. */
import kafkajs from "kafkajs";
import type { Kafka, logCreator as LogCreator, logLevel as LogLevel, RetryOptions } from "kafkajs";
import process from "node:process";
import type { Logger } from "../log/mod.ts";
import { registerCompressionCodecs } from "./codecs.ts";
import { bindNamespace } from "./namespace.ts";

/** Options of {@linkcode createKafka}. */
export interface CreateKafkaOptions {
  /** Bootstrap servers, `host:port` each. */
  brokers: string[];
  /** Shown in the broker's request logs and metrics. */
  clientId: string;
  /** kafkajs's own log level; `kafkajs.logLevel.ERROR` unless given. */
  logLevel?: LogLevel;
  /** Routes kafkajs's log entries elsewhere; see `kafkaLogTo` for the service's JSON logger. */
  logCreator?: LogCreator;
  /** Overrides the default retry policy (a few quick retries, capped at 2 s between tries). */
  retry?: RetryOptions;
  /** Prefix of every topic and group this client uses (see namespace.ts); default none. */
  namespace?: string;
}

/** Retries for transient errors against a broker on the same machine: fail in seconds, not minutes. */
const DEFAULT_RETRY: RetryOptions = {
  initialRetryTime: 100,
  maxRetryTime: 2_000,
  retries: 8,
};

/** Creates a kafkajs `Kafka` client for the given brokers, quiet by default. */
export function createKafka(options: CreateKafkaOptions): Kafka {
  if (
    options.brokers.length === 0 ||
    options.brokers.some((b) => !/^(\[[^\]]+\]|[^\s:\[\]]+):\d+$/.test(b))
  ) {
    throw new TypeError(
      `Cannot create a Kafka client: brokers must be "host:port" each, got ${
        JSON.stringify(options.brokers)
      }`,
    );
  }
  // Every producer here uses the default (murmur2, Java-compatible) partitioner: silence the
  // v2 notice about the change of default partitioner.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
  silenceNegativeTimeoutWarning();
  // Records compressed by other producers (snappy, lz4, zstd) are read like any other.
  registerCompressionCodecs();
  const kafka = new kafkajs.Kafka({
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: options.retry ?? DEFAULT_RETRY,
    logLevel: options.logLevel ?? kafkajs.logLevel.ERROR,
    ...(options.logCreator === undefined ? {} : { logCreator: options.logCreator }),
  });
  return bindNamespace(kafka, options.namespace ?? "");
}

/** A kafkajs log creator that writes kafkajs's entries as lines of `log` (JSON, same fields). */
export function kafkaLogTo(log: Logger): LogCreator {
  return function createKafkaLog() {
    return function writeKafkaLog({ namespace, level, log: entry }) {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      const line = { component: "kafkajs", kafkajs: namespace, ...fields };
      if (level <= kafkajs.logLevel.ERROR) log.error(message, line);
      else if (level === kafkajs.logLevel.WARN) log.warn(message, line);
      else if (level === kafkajs.logLevel.INFO) log.info(message, line);
      else log.debug(message, line);
    };
  };
}

let negativeTimeoutWarningSilenced = false;

/**
 * kafkajs 2.2.4 arms `setTimeout(fn, throttledUntil - Date.now())` with `throttledUntil = -1`
 * in every connection's request queue, so Node and Deno print a `TimeoutNegativeWarning` (the
 * timer fires after 1 ms, which is what kafkajs means). Drop that one warning, nothing else.
 */
function silenceNegativeTimeoutWarning(): void {
  if (negativeTimeoutWarningSilenced) return;
  negativeTimeoutWarningSilenced = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = function emitWarningButNegativeTimeout(
    this: unknown,
    warning: string | Error,
    ...rest: unknown[]
  ): void {
    const [typeOrOptions] = rest;
    const name = typeof warning !== "string"
      ? warning.name
      : typeof typeOrOptions === "string"
      ? typeOrOptions
      : (typeOrOptions as { type?: unknown } | undefined)?.type;
    if (name === "TimeoutNegativeWarning") return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}
