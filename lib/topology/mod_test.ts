import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ALL_TOPICS, EVENTS, type EventType, TOPICS } from "../messages/mod.ts";
import { ORCHESTRATOR_SAGAS, replyRoutes } from "../order_saga/mod.ts";
import {
  COMMAND_TOPICS,
  GROUP_TOPICS,
  HAPPY_PATH_TOPICS,
  ORCHESTRATOR,
  ORCHESTRATOR_TOPICS,
  PARTICIPANTS,
  REPLY_TOPICS,
  SCHEMAS,
  SERVICES,
} from "./mod.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const topicOf = (eventType: EventType) => EVENTS[eventType].topic;

Deno.test("SERVICES: each contract topic but the DLQ is consumed by exactly one group", () => {
  const consumers = new Map<string, string[]>();
  for (const service of SERVICES) {
    for (const topic of service.consumes) {
      consumers.set(topic, [...consumers.get(topic) ?? [], service.group]);
    }
  }
  for (const topic of ALL_TOPICS.filter((topic) => topic !== TOPICS.ordersDlq)) {
    assert.equal(consumers.get(topic)?.length, 1, `${topic}: ${consumers.get(topic)}`);
  }
  assert.equal(consumers.has(TOPICS.ordersDlq), false, "orders.dlq is read by sagactl only");
  assert.deepEqual(
    [...consumers.keys()].sort(),
    ALL_TOPICS.filter((t) => t !== TOPICS.ordersDlq).sort(),
  );
  assert.deepEqual(
    Object.entries(GROUP_TOPICS),
    SERVICES.map((service) => [service.group, service.consumes]),
  );
});

Deno.test("GROUP_TOPICS: the consumer groups and their topics of DESIGN §3", () => {
  assert.deepEqual(GROUP_TOPICS, {
    "saga-orchestrator": ["orders", "inventory.replies", "payment.replies", "notification.replies"],
    "inventory-service": ["inventory.commands"],
    "payment-service": ["payment.commands"],
    "notification-service": ["notification.commands"],
  });
});

Deno.test("SERVICES: each command and reply topic has one producer and another consumer", () => {
  for (const topic of [...COMMAND_TOPICS, ...REPLY_TOPICS]) {
    const producers = SERVICES.filter((service) => service.produces.includes(topic));
    const consumers = SERVICES.filter((service) => service.consumes.includes(topic));
    assert.equal(producers.length, 1, `${topic} is produced by ${producers.length} services`);
    assert.equal(consumers.length, 1, `${topic} is consumed by ${consumers.length} groups`);
    assert.notEqual(producers[0], consumers[0], `${topic} goes nowhere`);
  }
  assert.deepEqual(
    SERVICES.flatMap((service) => service.produces).sort(),
    [...COMMAND_TOPICS, ...REPLY_TOPICS].sort(),
  );
});

Deno.test("SERVICES: names, schemas, groups, ops ports and their variables are unique", () => {
  for (const key of ["name", "schema", "group", "opsPort", "portVariable", "entry"] as const) {
    const values = SERVICES.map((service) => service[key]);
    assert.equal(new Set(values).size, SERVICES.length, `${key}: ${values.join(", ")}`);
  }
  assert.deepEqual(SCHEMAS, ["orchestrator", "inventory", "payment", "notification"]);
});

Deno.test("SERVICES: each entry point is services/<name>/main.ts and exists", async () => {
  for (const service of SERVICES) {
    assert.equal(service.entry, `services/${service.name}/main.ts`);
    assert.ok((await stat(`${ROOT}${service.entry}`)).isFile(), `${service.entry} is missing`);
  }
});

Deno.test("PARTICIPANTS: each command topic has its reply topic, as the saga definitions use them", () => {
  assert.equal(new Set([...COMMAND_TOPICS, ...REPLY_TOPICS]).size, 2 * PARTICIPANTS.length);
  const parts = ORCHESTRATOR_SAGAS.definitions.flatMap((definition) =>
    definition.steps.flatMap((step) => step.compensation ? [step, step.compensation] : [step])
  );
  for (const part of parts) {
    const participant = PARTICIPANTS.find((p) => p.commands === topicOf(part.command.eventType));
    assert.ok(participant, `${part.command.eventType} goes to no participant's command topic`);
    assert.equal(topicOf(part.replies.success), participant.replies, part.replies.success);
    assert.equal(topicOf(part.replies.failure), participant.replies, part.replies.failure);
  }
  assert.deepEqual(
    new Set(parts.map((part) => topicOf(part.command.eventType))),
    new Set(COMMAND_TOPICS),
    "every command topic carries a command the orchestrator sends",
  );
});

Deno.test("ORCHESTRATOR_TOPICS: the start events' topic and every reply topic the sagas await", () => {
  const definitions = ORCHESTRATOR_SAGAS.definitions;
  const expected = new Set([
    ...definitions.map((definition) => topicOf(definition.start.eventType)),
    ...definitions.flatMap(replyRoutes).map((route) => route.topic),
  ]);
  assert.deepEqual(new Set(ORCHESTRATOR_TOPICS), expected);
  assert.equal(ORCHESTRATOR_TOPICS.length, expected.size);
  assert.equal(GROUP_TOPICS[ORCHESTRATOR.group], ORCHESTRATOR_TOPICS);
});

Deno.test("HAPPY_PATH_TOPICS: the order saga's forward steps, a command and its reply each", () => {
  const [order] = ORCHESTRATOR_SAGAS.definitions;
  assert.deepEqual(HAPPY_PATH_TOPICS, [
    topicOf(order!.start.eventType),
    ...order!.steps.flatMap((step) => [
      topicOf(step.command.eventType),
      topicOf(step.replies.success),
    ]),
  ]);
  assert.equal(HAPPY_PATH_TOPICS.length, 7);
});
