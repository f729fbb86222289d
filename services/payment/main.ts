/** `deno task run:payment`: charges and refunds orders through Stripe for sagas, via Kafka only. */
import { withDotEnv } from "../../lib/config/mod.ts";
import { runParticipantService } from "../../lib/participant/mod.ts";
import { runMain } from "../../lib/service/mod.ts";
import { PAYMENT } from "../../lib/topology/mod.ts";
import { loadPaymentConfig, stripeSettings } from "./config.ts";
import { startFollower } from "./follower.ts";
import { createPaymentCommands } from "./handlers.ts";
import { createStripeClient, createStripeGateway, type PaymentGateway } from "./stripe_gateway.ts";

/** Runs the payment service until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadPaymentConfig(withDotEnv(Deno.env.toObject()));
  const stripe = stripeSettings(config);
  let gateway: PaymentGateway | undefined;
  await runParticipantService({
    name: PAYMENT.name,
    config,
    opsPort: config[PAYMENT.portVariable],
    groupId: PAYMENT.group,
    topic: PAYMENT.commands,
    concurrency: config.PAYMENT_CONCURRENCY,
    callConcurrency: config.PAYMENT_CALL_CONCURRENCY,
    commands(runtime) {
      runtime.log.info("Charging through Stripe", {
        stripe: `${stripe.protocol}://${stripe.host}:${stripe.port}`,
        stripeTestServer: stripe.local,
      });
      const client = createStripeClient(stripe);
      gateway = createStripeGateway(client, { metrics: runtime.metrics });
      return createPaymentCommands({ gateway });
    },
    // Outcomes that are not final (`processing`, `pending`) are followed until they are.
    alongside(runtime, participant) {
      const follower = startFollower({
        sql: runtime.sql,
        log: runtime.log.child({ component: "follower" }),
        gateway: gateway!,
        resumeAwaiting: (orderIds) => participant.resumeAwaiting(orderIds),
        intervalMs: config.PAYMENT_FOLLOW_INTERVAL,
        maxIntervalMs: config.PAYMENT_FOLLOW_MAX_INTERVAL,
      });
      runtime.onClose(() => follower.stop());
    },
  });
}

if (import.meta.main) runMain(main);
