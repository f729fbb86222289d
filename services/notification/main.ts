/** `deno task run:notification`: sends order confirmations for sagas, through Kafka only. */
import { withDotEnv } from "../../lib/config/mod.ts";
import { runParticipantService } from "../../lib/participant/mod.ts";
import { runMain } from "../../lib/service/mod.ts";
import { NOTIFICATION } from "../../lib/topology/mod.ts";
import { createLogChannel, createSmtpChannel, type DeliveryChannel } from "./channels.ts";
import { loadNotificationConfig } from "./config.ts";
import { createNotificationCommands, createNotificationMetrics } from "./handlers.ts";

/** Runs the notification service until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadNotificationConfig(withDotEnv(Deno.env.toObject()));
  await runParticipantService({
    name: NOTIFICATION.name,
    config,
    opsPort: config[NOTIFICATION.portVariable],
    groupId: NOTIFICATION.group,
    topic: NOTIFICATION.commands,
    concurrency: config.NOTIFICATION_CONCURRENCY,
    callConcurrency: config.NOTIFICATION_CALL_CONCURRENCY,
    commands(runtime) {
      const channel: DeliveryChannel = config.SMTP_URL === undefined
        ? createLogChannel(runtime.log)
        : createSmtpChannel({ url: config.SMTP_URL, from: config.NOTIFICATION_FROM });
      if (channel.close !== undefined) runtime.onClose(channel.close);
      runtime.log.info("Delivering confirmations", { channel: channel.name });
      return createNotificationCommands({
        channel,
        metrics: createNotificationMetrics(runtime.metrics.registry),
      });
    },
  });
}

if (import.meta.main) runMain(main);
