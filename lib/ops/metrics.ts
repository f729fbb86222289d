/**
 * Prometheus metrics of a service: one registry per service, the process's default metrics and
 * the counters every service shares, each labelled with the service's name.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";

/** prom-client classes, re-exported for typing a service's own metrics. */
export type { Counter, Gauge, Registry };

/** What became of a consumed Kafka message. */
export type ConsumeOutcome = "handled" | "retried" | "dlq";

/** A service's registry and the metrics every service records; add your own to `registry`. */
export interface ServiceMetrics {
  /** Serves `GET /metrics`; every metric in it carries the label `service`. */
  registry: Registry;
  /** `kafka_messages_consumed_total{topic,outcome}`: outcome is a {@linkcode ConsumeOutcome}. */
  kafkaMessagesConsumed: Counter<"topic" | "outcome">;
  /** `kafka_messages_produced_total{topic}`. */
  kafkaMessagesProduced: Counter<"topic">;
  /** `outbox_published_total`: outbox rows sent to Kafka. */
  outboxPublished: Counter;
  /** `outbox_backlog`: outbox rows not yet published, as last measured. */
  outboxBacklog: Gauge;
}

/** Options of {@linkcode createMetrics}. */
export interface CreateMetricsOptions {
  /** Measures the outbox backlog when `/metrics` is scraped. */
  outboxBacklog?: () => Promise<number>;
}

/** Creates the registry of `service` with default process metrics and the shared metrics. */
export function createMetrics(service: string, options: CreateMetricsOptions = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    kafkaMessagesConsumed: new Counter({
      name: "kafka_messages_consumed_total",
      help: "Kafka messages consumed, by topic and outcome (handled, retried, dlq)",
      labelNames: ["topic", "outcome"] as const,
      registers,
    }),
    kafkaMessagesProduced: new Counter({
      name: "kafka_messages_produced_total",
      help: "Kafka messages produced, by topic",
      labelNames: ["topic"] as const,
      registers,
    }),
    outboxPublished: new Counter({
      name: "outbox_published_total",
      help: "Outbox rows published to Kafka",
      registers,
    }),
    outboxBacklog: new Gauge({
      name: "outbox_backlog",
      help: "Outbox rows waiting to be published",
      registers,
      async collect() {
        if (options.outboxBacklog !== undefined) this.set(await options.outboxBacklog());
      },
    }),
  };
}
