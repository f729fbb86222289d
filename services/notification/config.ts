/** Configuration of the notification service: the common variables plus its port and mail relay. */
import { z } from "zod";
import {
  COMMON_VARIABLES,
  integer,
  loadConfig,
  partitionConcurrency,
  urlOf,
} from "../../lib/config/mod.ts";
import { callConcurrency, DEFAULT_CALL_CONCURRENCY } from "../../lib/participant/limit.ts";
import { NOTIFICATION } from "../../lib/topology/mod.ts";

/** The sender of every confirmation unless `NOTIFICATION_FROM` says otherwise. */
export const DEFAULT_NOTIFICATION_FROM = "orders@sagas.example";

// A bare address or `Display Name <address>`; the address part is validated like zod's email.
const ADDRESS_IN_ANGLES = /^[^<>]*<([^<>]+)>\s*$/;

/** A sender address: `orders@example.com` or `Orders <orders@example.com>`. */
export function senderAddress(fallback: string) {
  return z.preprocess(
    (value) => (value === undefined || value === "" ? fallback : value),
    z.string().superRefine((text, ctx) => {
      const address = ADDRESS_IN_ANGLES.exec(text)?.[1] ?? text;
      if (!z.email().safeParse(address.trim()).success) {
        ctx.addIssue({
          code: "custom",
          message: `must be an e-mail address such as ${DEFAULT_NOTIFICATION_FROM}`,
        });
      }
    }),
  );
}

/** A URL with one of `protocols` that may stay unset (then `undefined`). */
export function optionalUrlOf(protocols: readonly string[]) {
  return z.preprocess(
    (value) => (value === "" ? undefined : value),
    urlOf(protocols).optional(),
  );
}

/** Variables the notification service reads. */
export const NOTIFICATION_VARIABLES = {
  ...COMMON_VARIABLES,
  NOTIFICATION_PORT: integer({ min: 0, max: 65_535, fallback: NOTIFICATION.opsPort }),
  /** Partitions handled at the same time: deliveries of different orders overlap. */
  NOTIFICATION_CONCURRENCY: partitionConcurrency(6),
  /** Deliveries in flight at once, all partitions together (no transaction is open meanwhile). */
  NOTIFICATION_CALL_CONCURRENCY: callConcurrency(DEFAULT_CALL_CONCURRENCY),
  /** The mail relay, e.g. `smtp://127.0.0.1:1025`; unset = the log channel. */
  SMTP_URL: optionalUrlOf(["smtp:", "smtps:"]),
  NOTIFICATION_FROM: senderAddress(DEFAULT_NOTIFICATION_FROM),
};

/** The notification service's validated configuration. */
export type NotificationConfig = ReturnType<typeof loadNotificationConfig>;

/** Validates `env`; throws `ConfigError` naming the first bad variable. */
export function loadNotificationConfig(env: Record<string, string | undefined>) {
  return loadConfig(NOTIFICATION_VARIABLES, env);
}
