/**
 * Kafka namespaces: an optional prefix on every topic and consumer group name, so that test
 * runs (or two stacks on one broker) never see each other's records. The contract's names
 * (DESIGN §3) are what code uses everywhere; the prefix is added and removed only here, at the
 * Kafka boundary. Production runs with no namespace: the names on the wire are the contract's.
 */

const namespaces = new WeakMap<object, string>();

/** Binds `namespace` to a kafkajs client, producer or consumer; returns the client. */
export function bindNamespace<T extends object>(client: T, namespace: string): T {
  if (namespace !== "") namespaces.set(client, namespace);
  return client;
}

/** The namespace bound to a client ("" when none). */
export function namespaceOf(client: object): string {
  return namespaces.get(client) ?? "";
}

/** The name on the broker of a topic or group `name` for this client. */
export function inNamespace(client: object, name: string): string {
  const namespace = namespaceOf(client);
  return namespace === "" ? name : `${namespace}.${name}`;
}

/** The contract name of a topic `brokerName` seen by this client. */
export function outOfNamespace(client: object, brokerName: string): string {
  const namespace = namespaceOf(client);
  const prefix = `${namespace}.`;
  return namespace !== "" && brokerName.startsWith(prefix)
    ? brokerName.slice(prefix.length)
    : brokerName;
}
