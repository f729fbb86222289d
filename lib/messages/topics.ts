/** Kafka topic names: the public contract of DESIGN §3. */

/** Every topic the system uses, by role. */
export const TOPICS = {
  orders: "orders",
  ordersDlq: "orders.dlq",
  inventoryCommands: "inventory.commands",
  inventoryReplies: "inventory.replies",
  paymentCommands: "payment.commands",
  paymentReplies: "payment.replies",
  notificationCommands: "notification.commands",
  notificationReplies: "notification.replies",
} as const;

/** A topic name of the contract. */
export type Topic = typeof TOPICS[keyof typeof TOPICS];

/** The eight topic names, for creating them. */
export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);
