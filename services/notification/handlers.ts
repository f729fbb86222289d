/** The notification service's command handler: load under lock, decide, deliver, record, reply. */
import { Counter, type Registry } from "prom-client";
import type { CommandHandler } from "../../lib/participant/mod.ts";
import type { SendNotification } from "../../lib/messages/mod.ts";
import type { DeliveryChannel, DeliveryResult } from "./channels.ts";
import { decideSend } from "./decide.ts";
import { renderConfirmation } from "./render.ts";
import { lockNotifications, recordNotification } from "./store.ts";

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
  SEND_NOTIFICATION: CommandHandler;
}

/** The notification service's commands, delivering through `options.channel`. */
export function createNotificationCommands(
  options: NotificationCommandsOptions,
): NotificationCommands {
  const { channel, metrics } = options;

  /**
   * `SEND_NOTIFICATION`: render the confirmation and deliver it once per order. A confirmation
   * sent already is answered again with its id; an undeliverable address fails without
   * contacting the channel; a refusal by the channel fails; both are recorded.
   */
  const sendNotification: CommandHandler = async function sendNotification(tx, message, log) {
    const order = message.body as SendNotification;
    const { orderId } = order;
    const rendered = renderConfirmation(order);
    const existing = await lockNotifications(tx, orderId);
    const decision = decideSend(orderId, rendered.recipient, existing);
    if (decision.kind === "already-sent") {
      log.info("Confirmation sent already: answering without sending", {
        notificationId: decision.notificationId,
      });
      return {
        eventType: "NOTIFICATION_SENT",
        body: { orderId, notificationId: decision.notificationId },
      };
    }
    const notificationId = crypto.randomUUID();
    const result: DeliveryResult = decision.kind === "refuse"
      ? { ok: false, code: decision.code, reason: decision.reason }
      : await channel.deliver({ orderId, notificationId, ...rendered });
    await recordNotification(tx, {
      notificationId,
      orderId,
      recipient: rendered.recipient,
      subject: rendered.subject,
      body: rendered.text,
      channel: channel.name,
      status: result.ok ? "SENT" : "FAILED",
      failureReason: result.ok ? null : result.reason,
    });
    metrics?.notifications.inc({ channel: channel.name, outcome: result.ok ? "sent" : "failed" });
    if (result.ok) {
      log.info("Confirmation sent", { notificationId, channel: channel.name });
      return { eventType: "NOTIFICATION_SENT", body: { orderId, notificationId } };
    }
    log.info("Confirmation failed", {
      notificationId,
      channel: channel.name,
      code: result.code,
      reason: result.reason,
    });
    return {
      eventType: "NOTIFICATION_FAILED",
      body: { orderId, code: result.code, reason: result.reason },
    };
  };

  return { SEND_NOTIFICATION: sendNotification };
}
