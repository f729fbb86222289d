/**
 * Typed readers for environment variables, built on zod. Each returns a schema for one variable:
 * an unset or empty variable takes its default (or is reported missing), anything else is
 * validated and converted. A problem says what the value must be, never what it is: `loadConfig`
 * adds the value, masked (see secrets.ts).
 */
import { isIP } from "node:net";
import { z } from "zod";
import { isLogLevel, type LogLevel } from "../log/mod.ts";

function fromEnv<T extends z.ZodType>(schema: T, fallback?: string) {
  return z.preprocess((value) => (value === undefined || value === "" ? fallback : value), schema);
}

function checked(predicate: (text: string) => boolean, expectation: string) {
  return z.string().superRefine((text, ctx) => {
    if (!predicate(text)) {
      ctx.addIssue({ code: "custom", message: expectation });
    }
  });
}

/** A comma-separated list of `host:port` addresses. */
export function brokerList(fallback?: string) {
  return fromEnv(
    z.string().transform((text, ctx) => {
      const brokers = text.split(",").map((part) => part.trim());
      for (const broker of brokers) {
        if (!/^[^\s:,]+:\d{1,5}$/.test(broker)) {
          ctx.addIssue({
            code: "custom",
            message: "must be host:port[,host:port…]",
          });
          return z.NEVER;
        }
      }
      return brokers;
    }),
    fallback,
  );
}

/** A URL whose scheme is one of `protocols` (e.g. `["postgres:", "postgresql:"]`). */
export function urlOf(protocols: readonly string[], fallback?: string) {
  return fromEnv(
    checked(
      (text) => URL.canParse(text) && protocols.includes(new URL(text).protocol),
      `must be a ${protocols.join(" or ")}// URL`,
    ),
    fallback,
  );
}

/** A host to listen on: a hostname (`localhost`, `ops.internal`), an IPv4 or an IPv6 address. */
export function listenHost(fallback?: string) {
  return fromEnv(
    checked(isListenHost, "must be a hostname or an IP address such as 127.0.0.1 or ::"),
    fallback,
  );
}

/** True for a hostname (RFC 1123 labels), an IPv4 or an IPv6 address (bare, not in brackets). */
export function isListenHost(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const labels = text.split(".");
  return text.length <= 253 &&
    labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) &&
    !/^\d+$/.test(labels.at(-1)!);
}

/** An integer in `[min, max]`. */
export function integer(options: { min: number; max: number; fallback?: number }) {
  return numberIn(options, {
    kind: "an integer",
    accepts: (text) => /^-?\d+$/.test(text.trim()),
  });
}

/** How many partitions a consumer handles at the same time (1 to 64). */
export function partitionConcurrency(fallback: number) {
  return integer({ min: 1, max: 64, fallback });
}

/** A decimal number in `[min, max]`. */
export function decimal(options: { min: number; max: number; fallback?: number }) {
  return numberIn(options, {
    kind: "a number",
    accepts: (text) => text.trim() !== "" && Number.isFinite(Number(text)),
  });
}

function numberIn(
  options: { min: number; max: number; fallback?: number },
  format: { kind: string; accepts: (text: string) => boolean },
) {
  const { min, max, fallback } = options;
  return fromEnv(
    z.string().transform((text, ctx) => {
      const value = Number(text);
      if (!format.accepts(text) || value < min || value > max) {
        ctx.addIssue({
          code: "custom",
          message: `must be ${format.kind} from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return value;
    }),
    fallback === undefined ? undefined : String(fallback),
  );
}

/** A duration such as `500ms`, `30s`, `2m` or a bare number of milliseconds; yields milliseconds. */
export function duration(fallback?: string) {
  return fromEnv(
    z.string().transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "must be a duration like 500ms, 30s or 2m",
        });
        return z.NEVER;
      }
      return ms;
    }),
    fallback,
  );
}

/** Parses `500ms`, `30s`, `2m`, `1h` or a bare number of milliseconds; undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "ms" ?? "ms"];
  return Math.round(Number(match[1]) * unit);
}

/** A log level name. */
export function logLevel(fallback: LogLevel = "info") {
  return fromEnv(
    checked(isLogLevel, "must be one of debug, info, warn, error").transform((text) =>
      text as LogLevel
    ),
    fallback,
  );
}

/** A prefix for topic and group names (letters, digits, `-`, `_`), empty by default. */
export function kafkaNamespace() {
  return fromEnv(
    checked((text) => /^[A-Za-z0-9_-]*$/.test(text), "must be letters, digits, - or _"),
    "",
  );
}

/** Free text; optional unless a fallback is given. */
export function text(fallback?: string) {
  return fromEnv(z.string(), fallback);
}

/** Free text that may stay unset (then `undefined`). */
export function optionalText() {
  return z.preprocess((value) => (value === "" ? undefined : value), z.string().optional());
}
