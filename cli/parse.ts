/**
 * Parsers of sagactl's arguments and option values, for commander's `argParser`: each returns
 * the typed value or throws commander's `InvalidArgumentError`, which sagactl reports as a
 * usage error (exit code 2) naming the option and the value.
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { z } from "zod";
import { parseDuration } from "../lib/config/mod.ts";
import { isEventType, LIMITS } from "../lib/messages/mod.ts";
import { SAGA_STATUSES, type SagaStatus } from "../lib/saga/mod.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SKU = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const UUID_LIKE = /^[0-9a-f-]+$/i;
const EXAMPLE_UUID = "8a1f0c4e-0001-4000-8000-000000000001";

/** A saga id, order id or product id: a UUID, returned in lower case. */
export function parseUuid(value: string): string {
  const trimmed = value.trim();
  if (!UUID.test(trimmed)) {
    throw new InvalidArgumentError(`Expected a UUID such as ${EXAMPLE_UUID}`);
  }
  return trimmed.toLowerCase();
}

/** A product named on the command line, by id or by SKU. */
export type ProductRef = { productId: string } | { sku: string };

/** One `--item`: a product and a quantity. */
export interface ItemArg {
  product: ProductRef;
  quantity: number;
}

/** Parses `--item <productId|SKU>:<quantity>`, e.g. `MUG-BLUE:2`. */
export function parseItem(value: string): ItemArg {
  const expected = `Expected <productId|SKU>:<quantity>, e.g. MUG-BLUE:2 or ${EXAMPLE_UUID}:1`;
  const index = value.lastIndexOf(":");
  if (index <= 0) throw new InvalidArgumentError(expected);
  const ref = value.slice(0, index).trim();
  const count = value.slice(index + 1).trim();
  const { min, max } = LIMITS.quantityPerLine;
  if (!/^\d+$/.test(count) || Number(count) < min || Number(count) > max) {
    throw new InvalidArgumentError(
      `The quantity must be a whole number from ${min} to ${max} (got "${count}"). ${expected}`,
    );
  }
  const quantity = Number(count);
  if (UUID.test(ref)) return { product: { productId: ref.toLowerCase() }, quantity };
  if (UUID_LIKE.test(ref) && ref.includes("-")) {
    throw new InvalidArgumentError(`"${ref}" is not a valid product UUID. ${expected}`);
  }
  if (!SKU.test(ref)) throw new InvalidArgumentError(`"${ref}" is not a UUID or SKU. ${expected}`);
  return { product: { sku: ref.toUpperCase() }, quantity };
}

/** Collects repeated `--item` options. */
export function collectItem(value: string, previous: ItemArg[]): ItemArg[] {
  return [...previous, parseItem(value)];
}

/** Parses `--status` (comma-separated, repeatable, any case) into saga statuses. */
export function collectStatuses(value: string, previous: SagaStatus[] = []): SagaStatus[] {
  const statuses = [...previous];
  for (const part of value.split(",").map((s) => s.trim().toUpperCase())) {
    if (part === "") continue;
    if (!(SAGA_STATUSES as readonly string[]).includes(part)) {
      throw new InvalidArgumentError(
        `Unknown status "${part}": expected one of ${SAGA_STATUSES.join(", ")}`,
      );
    }
    if (!statuses.includes(part as SagaStatus)) statuses.push(part as SagaStatus);
  }
  if (statuses.length === 0) throw new InvalidArgumentError("Expected at least one status");
  return statuses;
}

/** A parser of whole numbers from 1 to `max`, e.g. for `--limit`. */
export function positiveInteger(max: number): (value: string) => number {
  return function parsePositiveInteger(value) {
    const trimmed = value.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1 || Number(trimmed) > max) {
      throw new InvalidArgumentError(`Expected a whole number from 1 to ${max}`);
    }
    return Number(trimmed);
  };
}

/** The longest `--timeout`. */
export const MAX_TIMEOUT_MS = 3_600_000;

/** Parses a duration such as `30s`, `500ms`, `2m` (a bare number is milliseconds). */
export function parseTimeout(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError("Expected a duration from 1ms to 1h, such as 30s, 500ms or 2m");
  }
  return ms;
}

/** Parses `--since`: a duration back from `now` (`15m`, `2h`, `3d`) or an ISO-8601 time. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const trimmed = value.trim();
  const days = /^(\d+)\s*d$/.exec(trimmed);
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(trimmed);
  if (ms !== undefined && /[a-z]$/i.test(trimmed)) return new Date(now.getTime() - ms);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) {
    return new Date(trimmed);
  }
  throw new InvalidArgumentError(
    "Expected a duration back from now (15m, 2h, 3d) or an ISO-8601 time (2026-01-31T12:00:00Z)",
  );
}

/** Parses `--rate`: operations per second, as `5`, `5/s`, `0.5/s` or `30/m`. */
export function parseRate(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m))?\s*$/.exec(value);
  const perSecond = match ? Number(match[1]) / (match[2] === "m" ? 60 : 1) : NaN;
  if (!(perSecond > 0) || perSecond > 1_000) {
    throw new InvalidArgumentError(
      "Expected a rate above 0 and at most 1000/s, such as 5/s or 30/m",
    );
  }
  return perSecond;
}

/** A DLQ record as named on the command line: `<partition>:<offset>`, or a bare offset. */
export interface DlqRefArg {
  /** Null when only the offset was given. */
  partition: number | null;
  offset: number;
}

/** Parses `<partition>:<offset>` (as `dlq list` shows it) or a bare `<offset>`. */
export function parseDlqRef(value: string): DlqRefArg {
  const match = /^\s*(?:(\d+)\s*:\s*)?(\d+)\s*$/.exec(value);
  if (match === null || Number(match[2]) > Number.MAX_SAFE_INTEGER) {
    throw new InvalidArgumentError(
      "Expected <partition>:<offset> as dlq list shows it (e.g. 3:17), or a bare offset",
    );
  }
  return { partition: match[1] === undefined ? null : Number(match[1]), offset: Number(match[2]) };
}

/** Collects repeated DLQ refs. */
export function collectDlqRef(value: string, previous: DlqRefArg[] = []): DlqRefArg[] {
  return [...previous, parseDlqRef(value)];
}

/** Parses `--payment-method`: a Stripe PaymentMethod id such as `pm_card_visa`. */
export function parsePaymentMethod(value: string): string {
  const trimmed = value.trim();
  if (!/^pm_[A-Za-z0-9_]+$/.test(trimmed)) {
    throw new InvalidArgumentError(
      "Expected a Stripe PaymentMethod id such as pm_card_visa, pm_card_chargeDeclined or pm_card_refundFail",
    );
  }
  return trimmed;
}

/** Parses `--email`. */
export function parseEmail(value: string): string {
  const trimmed = value.trim();
  if (!z.email().safeParse(trimmed).success) {
    throw new InvalidArgumentError("Expected an email address such as ada@example.com");
  }
  return trimmed;
}

/** Parses `--type`: an event type of the contract, any case. */
export function parseEventType(value: string): string {
  const upper = value.trim().toUpperCase();
  if (!isEventType(upper)) {
    throw new InvalidArgumentError(
      "Expected an event type of the contract, such as ORDER_CREATED or COMPENSATION_FAILED",
    );
  }
  return upper;
}
