/**
 * The system's topology in one value (DESIGN §1, §3, §6, §9): each service's name, PostgreSQL
 * schema, consumer group, the topics its group consumes and the ones it produces, the default
 * port of its ops server and its entry point. The orchestrator's subscriptions, the participants'
 * groups, the supervisor, the test stack, the chaos run, the invariants, `sagactl stats` and the
 * bench derive what they list from here.
 */
import { type Topic, TOPICS } from "../messages/mod.ts";

/** What every service has, whatever it consumes. */
export interface ServiceBase {
  /** Process, log and Kafka client name. */
  readonly name: string;
  /** The one PostgreSQL schema it reads and writes (DESIGN §6), home of its outbox. */
  readonly schema: string;
  /** Its consumer group (DESIGN §3): every replica is a member. */
  readonly group: string;
  /** Default port of its ops server (`/healthz`, `/readyz`, `/metrics`). */
  readonly opsPort: number;
  /** The variable that moves its ops port. */
  readonly portVariable: string;
  /** Its entry module, relative to the repository root. */
  readonly entry: string;
}

/** A participant: it consumes one command topic and answers on one reply topic. */
export interface ParticipantTopology extends ServiceBase {
  readonly commands: Topic;
  readonly replies: Topic;
}

/** Any service, seen the same way: what its group consumes and what it produces. */
export interface ServiceTopology extends ServiceBase {
  readonly consumes: readonly Topic[];
  /** The command or reply topics it writes to (through its outbox); alerts aside. */
  readonly produces: readonly Topic[];
}

/** The inventory service: reserves and releases stock. */
export const INVENTORY = {
  name: "inventory",
  schema: "inventory",
  group: "inventory-service",
  commands: TOPICS.inventoryCommands,
  replies: TOPICS.inventoryReplies,
  opsPort: 9102,
  portVariable: "INVENTORY_PORT",
  entry: "services/inventory/main.ts",
} as const satisfies ParticipantTopology;

/** The payment service: charges and refunds through Stripe. */
export const PAYMENT = {
  name: "payment",
  schema: "payment",
  group: "payment-service",
  commands: TOPICS.paymentCommands,
  replies: TOPICS.paymentReplies,
  opsPort: 9103,
  portVariable: "PAYMENT_PORT",
  entry: "services/payment/main.ts",
} as const satisfies ParticipantTopology;

/** The notification service: sends order confirmations. */
export const NOTIFICATION = {
  name: "notification",
  schema: "notification",
  group: "notification-service",
  commands: TOPICS.notificationCommands,
  replies: TOPICS.notificationReplies,
  opsPort: 9104,
  portVariable: "NOTIFICATION_PORT",
  entry: "services/notification/main.ts",
} as const satisfies ParticipantTopology;

/** The participants, in the order an order's saga visits them on its way to COMPLETED. */
export const PARTICIPANTS: readonly ParticipantTopology[] = [INVENTORY, PAYMENT, NOTIFICATION];

/** The saga orchestrator: consumes orders and replies, sends commands. */
export const ORCHESTRATOR = {
  name: "orchestrator",
  schema: "orchestrator",
  group: "saga-orchestrator",
  opsPort: 9101,
  portVariable: "ORCHESTRATOR_PORT",
  entry: "services/orchestrator/main.ts",
} as const satisfies ServiceBase;

/** The topics the orchestrator's group consumes: new orders, then every participant's replies. */
export const ORCHESTRATOR_TOPICS: readonly Topic[] = [
  TOPICS.orders,
  ...PARTICIPANTS.map((participant) => participant.replies),
];

/** The command topics the orchestrator writes, one per participant. */
export const COMMAND_TOPICS: readonly Topic[] = PARTICIPANTS.map((p) => p.commands);

/** The reply topics the participants write, one each. */
export const REPLY_TOPICS: readonly Topic[] = PARTICIPANTS.map((p) => p.replies);

/** Every service, the orchestrator first. */
export const SERVICES: readonly ServiceTopology[] = [
  { ...ORCHESTRATOR, consumes: ORCHESTRATOR_TOPICS, produces: COMMAND_TOPICS },
  ...PARTICIPANTS.map((participant) => ({
    ...participant,
    consumes: [participant.commands],
    produces: [participant.replies],
  })),
];

/** The services' schemas, the orchestrator's first; each has an outbox. */
export const SCHEMAS: readonly string[] = SERVICES.map((service) => service.schema);

/** Each consumer group and the topics it consumes. */
export const GROUP_TOPICS: Readonly<Record<string, readonly Topic[]>> = Object.fromEntries(
  SERVICES.map((service) => [service.group, service.consumes]),
);

/**
 * The topics one order travels on, in order, on the happy path: `orders`, then each
 * participant's commands and replies. Its length is the Kafka hops of one completed saga.
 */
export const HAPPY_PATH_TOPICS: readonly Topic[] = [
  TOPICS.orders,
  ...PARTICIPANTS.flatMap((participant) => [participant.commands, participant.replies]),
];
