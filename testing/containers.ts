/**
 * Kafka, PostgreSQL and Redis in containers for integration tests, when no endpoints are given
 * and a Docker engine answers (`testInfra` decides). The containers are removed by
 * testcontainers' reaper when the test process ends.
 */
import type { TestInfra } from "./infra.ts";
import { freePort } from "./net.ts";

const KAFKA_IMAGE = "apache/kafka:4.1.2";

/** Starts the three containers and returns their endpoints. */
export async function startContainers(): Promise<TestInfra> {
  // Loaded only on this path: hosts without Docker never load testcontainers.
  const { GenericContainer, Wait } = await import("testcontainers");
  // Kafka advertises the address clients must use, so its host port is chosen before it starts.
  const kafkaPort = freePort();
  const [kafka, postgres, redis] = await Promise.all([
    new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
        KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: "1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer("postgres:17")
      .withExposedPorts(5432)
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "sagas" })
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start(),
    new GenericContainer("redis:7")
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .start(),
  ]);
  return {
    kafkaBrokers: [`127.0.0.1:${kafka.getMappedPort(9092)}`],
    databaseUrl: `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/sagas`,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
  };
}
