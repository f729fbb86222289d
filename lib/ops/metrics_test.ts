import assert from "node:assert/strict";
import { Counter } from "prom-client";
import { createMetrics } from "./metrics.ts";

Deno.test("createMetrics() labels every metric with the service, default ones included", async () => {
  const metrics = createMetrics("payment");
  metrics.kafkaMessagesConsumed.inc({ topic: "payment.commands", outcome: "dlq" });
  metrics.kafkaMessagesProduced.inc({ topic: "saga.replies" }, 2);
  metrics.outboxPublished.inc();
  const text = await metrics.registry.metrics();
  const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  assert.ok(samples.length > 10);
  for (const sample of samples) assert.match(sample, /service="payment"/, sample);
  assert.match(
    text,
    /^kafka_messages_consumed_total\{topic="payment\.commands",outcome="dlq",service="payment"\} 1$/m,
  );
  assert.match(
    text,
    /^kafka_messages_produced_total\{topic="saga\.replies",service="payment"\} 2$/m,
  );
  assert.match(text, /^outbox_published_total\{service="payment"\} 1$/m);
});

Deno.test("createMetrics() gives each call its own registry", async () => {
  const first = createMetrics("orchestrator");
  const second = createMetrics("orchestrator");
  first.outboxPublished.inc(5);
  assert.match(
    await second.registry.metrics(),
    /^outbox_published_total\{service="orchestrator"\} 0$/m,
  );
});

Deno.test("createMetrics() lets a service add its own metric to the registry", async () => {
  const metrics = createMetrics("inventory");
  const reservations = new Counter({
    name: "inventory_reservations_total",
    help: "Reservations made",
    registers: [metrics.registry],
  });
  reservations.inc();
  assert.match(
    await metrics.registry.metrics(),
    /^inventory_reservations_total\{service="inventory"\} 1$/m,
  );
});
