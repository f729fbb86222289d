/**
 * Delivery channels: where a rendered confirmation goes. `log` writes it as a JSON log line (the
 * notifications table is the record); `smtp` hands it to a mail relay with nodemailer. A channel
 * answers a refusal that is the recipient's (a business outcome) and throws everything else.
 */
import nodemailer from "nodemailer";
import { errorMessage, InfrastructureError, isInfrastructureFault } from "../../lib/errors/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";

/** A rendered confirmation on its way out. */
export interface OutgoingNotification {
  orderId: string;
  /**
   * The eventId of the command that made the delivery attempt: the e-mail's `Message-ID` is
   * derived from it, so delivering the attempt again is the same message.
   */
  notificationId: string;
  recipient: string;
  subject: string;
  text: string;
}

/** How a delivery went: a refusal is a business outcome with a code, never an exception. */
export type DeliveryResult = { ok: true } | { ok: false; code: string; reason: string };

/**
 * Carries notifications. `deliver` throws `InfrastructureError` when the channel is unreachable
 * (the command is retried) and any other error for a fault it cannot classify.
 */
export interface DeliveryChannel {
  /** Short name, recorded with each notification and used as a metric label. */
  readonly name: string;
  /** Delivers one notification. */
  deliver(notification: OutgoingNotification): Promise<DeliveryResult>;
  /** Releases the channel's connections (at shutdown). */
  close?(): Promise<void>;
}

/** A channel that logs each notification as one JSON line at info level; it always delivers. */
export function createLogChannel(log: Logger): DeliveryChannel {
  return {
    name: "log",
    deliver(notification) {
      log.info("Notification delivered to the log", { ...notification });
      return Promise.resolve({ ok: true });
    },
  };
}

/** Options of {@linkcode createSmtpChannel}. */
export interface SmtpChannelOptions {
  /** `smtp://[user:pass@]host:port` or `smtps://…`; nodemailer options may go in the query. */
  url: string;
  /** The `From` of every message, e.g. `orders@sagas.example`. */
  from: string;
  /** Longest wait to connect, for the greeting, and for any reply (default 10 s). */
  timeoutMs?: number;
}

/** A channel that sends each notification as a plain-text e-mail through an SMTP relay. */
export function createSmtpChannel(options: SmtpChannelOptions): DeliveryChannel {
  const timeout = options.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    url: options.url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    name: "smtp",
    async deliver(notification) {
      const { orderId, notificationId, recipient } = notification;
      try {
        await transport.sendMail({
          messageId: messageIdOf(notificationId, options.from),
          from: options.from,
          to: recipient,
          subject: notification.subject,
          text: notification.text,
          headers: { "X-Order-Id": orderId, "X-Notification-Id": notificationId },
        });
        return { ok: true };
      } catch (error) {
        const failure = classifySmtpError(error);
        const what = `the confirmation of order "${orderId}" to "${recipient}"`;
        if (failure === "recipient_rejected") {
          return {
            ok: false,
            code: "recipient_rejected",
            reason: `The mail server refused ${what}: ${smtpResponse(error)}`,
          };
        }
        if (failure === "unavailable") {
          throw new InfrastructureError(
            `Cannot hand ${what} to the mail server: ${errorMessage(error)}`,
            { cause: error },
          );
        }
        throw new Error(`Cannot send ${what}: ${errorMessage(error)}`, { cause: error });
      }
    },
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}

/**
 * The `Message-ID` of a notification: `<notification-id@domain of the sender>`, the same for every
 * delivery of one attempt (RFC 5322 §3.6.4), so a recipient's mail system can tell a repeat.
 */
export function messageIdOf(notificationId: string, from: string): string {
  const domain = /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? "localhost";
  return `<${notificationId}@${domain}>`;
}

/** What an SMTP failure means for the command. */
export type SmtpFailure =
  /** The server refused the recipient for good (5xx on RCPT TO): a business outcome. */
  | "recipient_rejected"
  /** The relay is unreachable, slow, busy or refuses us for now (4xx): retry until it works. */
  | "unavailable"
  /** Anything else (the message refused at DATA, a local error): retried a bounded number of times, then the DLQ. */
  | "other";

// nodemailer codes of a connection that failed or ended, not of a refused message.
const CONNECTION_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EPROXY",
  "EAUTH",
  "ENOAUTH",
]);

/**
 * Classifies a nodemailer error by the SMTP reply and the command it answered: a permanent
 * (5xx, not 503) reply to RCPT TO rejects the recipient; a transient reply (4xx, 503), a failed
 * or timed-out connection, TLS or authentication, and a refused MAIL FROM make the relay
 * unavailable; anything else is "other".
 */
export function classifySmtpError(error: unknown): SmtpFailure {
  if (typeof error !== "object" || error === null) return "other";
  const { code, command, responseCode } = error as {
    code?: unknown;
    command?: unknown;
    responseCode?: unknown;
  };
  if (typeof responseCode === "number") {
    const permanent = responseCode >= 500 && responseCode < 600 && responseCode !== 503;
    if (!permanent) return "unavailable";
    if (command === "RCPT TO") return "recipient_rejected";
    if (command === "MAIL FROM" || (typeof command === "string" && command.startsWith("AUTH"))) {
      return "unavailable";
    }
    return "other";
  }
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return "unavailable";
  return isInfrastructureFault(error) ? "unavailable" : "other";
}

function smtpResponse(error: unknown): string {
  const { rejectedErrors, response } = error as {
    rejectedErrors?: Array<{ response?: string }>;
    response?: string;
  };
  return rejectedErrors?.[0]?.response ?? response ?? errorMessage(error);
}
