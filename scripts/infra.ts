/**
 * Brings up, stops, wipes or shows the logs of the local infrastructure (DESIGN §9).
 *
 *   deno run -A scripts/infra.ts up      Kafka + PostgreSQL + Redis answering, database and topics made
 *   deno run -A scripts/infra.ts down    stop the broker (data kept)
 *   deno run -A scripts/infra.ts reset   stop the broker and wipe its data
 *   deno run -A scripts/infra.ts logs    last lines of the broker log (`-f` to follow)
 *
 * With a Docker engine that answers (`docker info`), Docker Compose runs everything from
 * docker-compose.yml. Otherwise a real Apache Kafka broker runs from Maven Central jars
 * (scripts/kafka_local.sh) beside the machine's PostgreSQL and Redis, which are started when
 * installed but stopped. Either way the script then waits on a real Kafka client call, creates
 * the database named in DATABASE_URL and the topics of lib/messages, and is a quick no-op when
 * everything is up already. A broker that already answers at KAFKA_BROKERS without being this
 * checkout's (another checkout's, say) is used as it is: `up` does not start a second one and
 * `down` leaves it running. Reads the common variables of lib/config (KAFKA_BROKERS,
 * KAFKA_NAMESPACE, KAFKA_TOPIC_PARTITIONS, DATABASE_URL, REDIS_URL) from the environment, then
 * `.env`, then the defaults; a bad value stops it with one line naming the variable.
 *
 * `--brokers 3` (on every command) is a 3-node KRaft cluster instead of the single broker: the
 * Compose profile `cluster` (kafka-1..3) or three local nodes (`kafka_local.sh --brokers 3`,
 * in .data/kafka-cluster), each broker and controller, on 127.0.0.1:9092, 9094 and 9096
 * (KAFKA_PORT moves the first; the others follow two ports apart). `up` waits until all three
 * are registered, creates the topics with 3 replicas and `min.insync.replicas` 2 and prints the
 * KAFKA_BROKERS value that lists all three. Without the flag, `down`, `reset` and `logs` act on
 * whichever of the two this checkout runs (`down` and `reset` on both).
 */
import { ConfigError } from "../lib/errors/mod.ts";
import { runInfra } from "../testing/infra_up/mod.ts";

if (import.meta.main) {
  let code: number;
  try {
    code = await runInfra(Deno.args);
  } catch (error) {
    // A ConfigError is already the one line naming the variable.
    console.error(
      error instanceof ConfigError
        ? error.message
        : `infra: ${error instanceof Error ? error.message : String(error)}`,
    );
    code = 1;
  }
  Deno.exit(code);
}
