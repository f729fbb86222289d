/** `deno task run:inventory`: reserves and releases stock for sagas, through Kafka only. */
import {
  COMMON_VARIABLES,
  integer,
  loadConfig,
  partitionConcurrency,
  withDotEnv,
} from "../../lib/config/mod.ts";
import { runParticipantService } from "../../lib/participant/mod.ts";
import { runMain } from "../../lib/service/mod.ts";
import { INVENTORY } from "../../lib/topology/mod.ts";
import { INVENTORY_COMMANDS } from "./handlers.ts";

/** Configuration of the inventory service. */
export const INVENTORY_VARIABLES = {
  ...COMMON_VARIABLES,
  INVENTORY_PORT: integer({ min: 0, max: 65_535, fallback: INVENTORY.opsPort }),
  /** Partitions handled at the same time; each chunk locks its stock rows first, in id order. */
  INVENTORY_CONCURRENCY: partitionConcurrency(6),
};

/** Runs the inventory service until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadConfig(INVENTORY_VARIABLES, withDotEnv(Deno.env.toObject()));
  await runParticipantService({
    name: INVENTORY.name,
    config,
    opsPort: config[INVENTORY.portVariable],
    groupId: INVENTORY.group,
    topic: INVENTORY.commands,
    commands: () => INVENTORY_COMMANDS,
    concurrency: config.INVENTORY_CONCURRENCY,
  });
}

if (import.meta.main) runMain(main);
