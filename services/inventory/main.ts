/** `deno task run:inventory`: reserves and releases stock for sagas, through Kafka only. */
import { COMMON_VARIABLES, integer, loadConfig, withDotEnv } from "../../lib/config/mod.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import { startParticipant } from "../../lib/participant/mod.ts";
import { onShutdownSignal, openServiceRuntime, runMain } from "../../lib/service/mod.ts";
import { INVENTORY_COMMANDS } from "./handlers.ts";

/** Configuration of the inventory service. */
export const INVENTORY_VARIABLES = {
  ...COMMON_VARIABLES,
  INVENTORY_PORT: integer({ min: 0, max: 65_535, fallback: 9102 }),
};

/** Runs the inventory service until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadConfig(INVENTORY_VARIABLES, withDotEnv(Deno.env.toObject()));
  const runtime = await openServiceRuntime({
    name: "inventory",
    schema: "inventory",
    config,
    opsPort: config.INVENTORY_PORT,
  });
  try {
    await startParticipant(runtime, {
      groupId: "inventory-service",
      topic: TOPICS.inventoryCommands,
      commands: INVENTORY_COMMANDS,
    });
    runtime.log.info("Inventory service running");
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}

if (import.meta.main) runMain(main);
