/**
 * The notification service's command handler, in atomic phases around the delivery (DESIGN §5):
 * load under lock, decide, record the attempt; deliver; record the outcome, reply.
 */
import { Counter, type Registry } from "prom-client";
import type { CallingCommand } from "../../lib/participant/mod.ts";
import type { DeliveryChannel, DeliveryResult, OutgoingNotification } from "./channels.ts";
import { decideSend } from "./decide.ts";
import { renderConfirmation } from "./render.ts";
import { lockNotifications, recordDelivery, recordNotification } from "./store.ts";

/** The notification service's own metrics. */
export interface NotificationMetrics {
  /** `notifications_total{channel,outcome}`: outcome `sent` or `failed`. */
  notifications: Counter<"channel" | "outcome">;
}

/** Registers the notification metrics on a service's registry. */
export function createNotificationMetrics(registry: Registry): NotificationMetrics {
  return {
    notifications: new Counter({
      name: "notifications_total",
      help: "Notifications recorded, by channel and outcome (sent, failed)",
      labelNames: ["channel", "outcome"] as const,
      registers: [registry],
    }),
  };
}

/** Options of {@linkcode createNotificationCommands}. */
export interface NotificationCommandsOptions {
  /** Where confirmations go. */
  channel: DeliveryChannel;
  /** Counters to record outcomes in (none when absent). */
  metrics?: NotificationMetrics;
}

/** The notification service's commands, by event type. */
export interface NotificationCommands {
  SEND_NOTIFICATION: CallingCommand<OutgoingNotification, DeliveryResult, "SEND_NOTIFICATION">;
}

/** The notification service's commands, delivering through `options.channel`. */
export function createNotificationCommands(
  options: NotificationCommandsOptions,
): NotificationCommands {
  const { channel, metrics } = options;

  function counted(result: DeliveryResult): void {
    metrics?.notifications.inc({ channel: channel.name, outcome: result.ok ? "sent" : "failed" });
  }

  /**
   * `SEND_NOTIFICATION`: render the confirmation and deliver it once per order, in atomic phases
   * (DESIGN §5): the attempt is recorded (`SENDING`, its id the command's eventId), delivered with
   * no transaction open, and its outcome recorded with the reply. A confirmation sent already is
   * answered again with its id, never sent again; an attempt left unanswered is delivered again
   * as recorded (the same `Message-ID`); an undeliverable address fails without contacting the
   * channel; a refusal by the channel fails; both are recorded.
   */
  const sendNotification: NotificationCommands["SEND_NOTIFICATION"] = {
    async prepare(tx, message, log) {
      const order = message.body;
      const { orderId } = order;
      const rendered = renderConfirmation(order);
      const existing = await lockNotifications(tx, orderId);
      const decision = decideSend(orderId, rendered.recipient, existing);
      switch (decision.kind) {
        case "already-sent":
          log.info("Confirmation sent already: answering without sending", {
            notificationId: decision.notificationId,
          });
          return {
            reply: {
              eventType: "NOTIFICATION_SENT",
              body: { orderId, notificationId: decision.notificationId },
            },
          };
        case "resume": {
          const attempt = existing.find((n) => n.notificationId === decision.notificationId)!;
          log.info("Delivering the attempt recorded earlier again", {
            notificationId: attempt.notificationId,
          });
          return {
            call: {
              orderId,
              notificationId: attempt.notificationId,
              recipient: attempt.recipient,
              subject: attempt.subject,
              text: attempt.body,
            },
          };
        }
        case "refuse":
        case "send":
          break;
      }
      const notificationId = message.metadata.eventId;
      await recordNotification(tx, {
        notificationId,
        orderId,
        recipient: rendered.recipient,
        subject: rendered.subject,
        body: rendered.text,
        channel: channel.name,
        status: decision.kind === "send" ? "SENDING" : "FAILED",
        failureReason: decision.kind === "send" ? null : decision.reason,
      });
      if (decision.kind === "send") return { call: { orderId, notificationId, ...rendered } };
      counted({ ok: false, code: decision.code, reason: decision.reason });
      log.debug("Confirmation failed", { notificationId, code: decision.code });
      return {
        reply: {
          eventType: "NOTIFICATION_FAILED",
          body: { orderId, code: decision.code, reason: decision.reason },
        },
      };
    },
    call: (notification) => channel.deliver(notification),
    async complete(tx, _message, { call, result }, log) {
      const { orderId, notificationId } = call;
      // False when another handling of the same attempt recorded it first: it delivered the
      // same message, and this answer stands for both.
      const recorded = await recordDelivery(tx, {
        notificationId,
        status: result.ok ? "SENT" : "FAILED",
        failureReason: result.ok ? null : result.reason,
      });
      if (recorded) counted(result);
      if (result.ok) {
        log.debug("Confirmation sent", { notificationId, channel: channel.name });
        return { eventType: "NOTIFICATION_SENT", body: { orderId, notificationId } };
      }
      log.debug("Confirmation failed", {
        notificationId,
        channel: channel.name,
        code: result.code,
        reason: result.reason,
      });
      return {
        eventType: "NOTIFICATION_FAILED",
        body: { orderId, code: result.code, reason: result.reason },
      };
    },
  };

  return { SEND_NOTIFICATION: sendNotification };
}
