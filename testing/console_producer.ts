/**
 * Kafka's own Java console producer (`org.apache.kafka.tools.ConsoleProducer`, jars in
 * .cache/kafka/lib): records produced by a non-JavaScript client, as a real deployment gets them.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where `deno task setup` puts the Kafka jars. */
export const KAFKA_LIB = fileURLToPath(new URL("../.cache/kafka/lib", import.meta.url));

/** A record for the console producer: text only, at least one header. */
export interface ConsoleRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** The producer's `compression.type`. */
export type ConsoleCompression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** Options of {@linkcode produceWithConsoleProducer}. */
export interface ConsoleProducerOptions {
  brokers: readonly string[];
  /** The topic's full name (with its namespace prefix, if any). */
  topic: string;
  records: readonly ConsoleRecord[];
  /** Default `none`. */
  compression?: ConsoleCompression;
}

/**
 * Between headers: JSON header values hold commas (the console producer's default), and it
 * splits with a regular expression. The ASCII unit separator never appears in JSON text.
 */
const HEADER_SEPARATOR = "\x1f";

/** One input line: `name:value<US>name:value<TAB>key<TAB>value`. */
function consoleLine(record: ConsoleRecord): string {
  const headers = Object.entries(record.headers);
  if (headers.length === 0) {
    throw new RangeError("Cannot write a console producer line: a record needs a header");
  }
  for (const [name, value] of headers) {
    if (
      name.includes(":") || /[\t\n\r]/.test(name + value) ||
      `${name}${value}`.includes(HEADER_SEPARATOR)
    ) {
      throw new RangeError(
        `Cannot write a console producer line: header ${name} holds a separator`,
      );
    }
  }
  if (/[\t\n\r]/.test(record.key + record.value)) {
    throw new RangeError(
      "Cannot write a console producer line: a key or value holds a tab or newline",
    );
  }
  const header = headers.map(([name, value]) => `${name}:${value}`).join(HEADER_SEPARATOR);
  return `${header}\t${record.key}\t${record.value}\n`;
}

/**
 * Produces `records`, in order, with Kafka's Java console producer (one JVM, one batch when they
 * fit) and resolves once it exited successfully.
 */
export async function produceWithConsoleProducer(options: ConsoleProducerOptions): Promise<void> {
  if (!existsSync(KAFKA_LIB)) {
    throw new Error(
      `Cannot run Kafka's console producer: no jars in ${KAFKA_LIB} (run "deno task setup")`,
    );
  }
  const input = options.records.map(consoleLine).join("");
  const child = spawn("java", [
    // A short-lived JVM on a busy machine: skip the optimising compiler.
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-cp",
    `${KAFKA_LIB}/*`,
    "org.apache.kafka.tools.ConsoleProducer",
    "--bootstrap-server",
    options.brokers.join(","),
    "--topic",
    options.topic,
    "--compression-codec",
    options.compression ?? "none",
    "--property",
    "parse.key=true",
    "--property",
    "parse.headers=true",
    "--property",
    `headers.separator=${HEADER_SEPARATOR}`,
  ], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  child.stdin.end(input);
  const code = await exit;
  // A send that fails in the producer's background is only logged: the exit code stays 0.
  if (code !== 0 || stderr.includes("Error when sending message")) {
    throw new Error(`Kafka's console producer exited with ${code}: ${stderr.trim()}`);
  }
}
