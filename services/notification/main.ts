/** `deno task run:notification`: sends order confirmations for sagas, through Kafka only. */
import { withDotEnv } from "../../lib/config/mod.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import { startParticipant } from "../../lib/participant/mod.ts";
import { onShutdownSignal, openServiceRuntime, runMain } from "../../lib/service/mod.ts";
import { createLogChannel, createSmtpChannel, type DeliveryChannel } from "./channels.ts";
import { loadNotificationConfig } from "./config.ts";
import { createNotificationCommands, createNotificationMetrics } from "./handlers.ts";

/** Runs the notification service until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadNotificationConfig(withDotEnv(Deno.env.toObject()));
  const runtime = await openServiceRuntime({
    name: "notification",
    schema: "notification",
    config,
    opsPort: config.NOTIFICATION_PORT,
  });
  try {
    const channel: DeliveryChannel = config.SMTP_URL === undefined
      ? createLogChannel(runtime.log)
      : createSmtpChannel({ url: config.SMTP_URL, from: config.NOTIFICATION_FROM });
    if (channel.close !== undefined) runtime.onClose(channel.close);
    await startParticipant(runtime, {
      groupId: "notification-service",
      topic: TOPICS.notificationCommands,
      commands: createNotificationCommands({
        channel,
        metrics: createNotificationMetrics(runtime.metrics.registry),
      }),
    });
    runtime.log.info("Notification service running", { channel: channel.name });
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}

if (import.meta.main) runMain(main);
