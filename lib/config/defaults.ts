/** Local endpoints shared by the services, the scripts and the tests (same in both infra paths). */

/** Kafka bootstrap servers of the single local broker. */
export const DEFAULT_KAFKA_BROKERS = "127.0.0.1:9092";

/** The project's PostgreSQL database (one schema per service inside it). */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sagas";

/** The local Redis server. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Partitions per topic when topics are created. */
export const DEFAULT_TOPIC_PARTITIONS = 6;

/** Where each service's ops server (`/healthz`, `/readyz`, `/metrics`) listens: loopback only. */
export const DEFAULT_OPS_HOST = "127.0.0.1";
