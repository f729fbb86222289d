/** `deno task run:payment`: charges and refunds orders through Stripe for sagas, via Kafka only. */
import { withDotEnv } from "../../lib/config/mod.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import { startParticipant } from "../../lib/participant/mod.ts";
import { onShutdownSignal, openServiceRuntime, runMain } from "../../lib/service/mod.ts";
import { loadPaymentConfig, stripeSettings } from "./config.ts";
import { createPaymentCommands } from "./handlers.ts";
import { createStripeClient, createStripeGateway } from "./stripe_gateway.ts";

/** Runs the payment service until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadPaymentConfig(withDotEnv(Deno.env.toObject()));
  const stripe = stripeSettings(config);
  const runtime = await openServiceRuntime({
    name: "payment",
    schema: "payment",
    config,
    opsPort: config.PAYMENT_PORT,
  });
  try {
    const gateway = createStripeGateway(createStripeClient(stripe), { metrics: runtime.metrics });
    await startParticipant(runtime, {
      groupId: "payment-service",
      topic: TOPICS.paymentCommands,
      commands: createPaymentCommands({ gateway }),
    });
    runtime.log.info("Payment service running", {
      stripe: `${stripe.protocol}://${stripe.host}:${stripe.port}`,
      stripeTestServer: stripe.local,
    });
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}

if (import.meta.main) runMain(main);
