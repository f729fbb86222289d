/**
 * The inventory service's commands, set-based: a chunk's reservations and stock loaded under
 * lock in one round trip, each command decided in memory in chunk order, the decisions written
 * together with the replies.
 */
import type { Logger } from "../../lib/log/mod.ts";
import type { Message } from "../../lib/messages/mod.ts";
import type { ChunkCommand, CommandHandlers, Decided } from "../../lib/participant/mod.ts";
import { type InventoryState, type InventoryWrite, releaseIn, reserveIn } from "./decide.ts";
import { loadInventory, writeInventory } from "./store.ts";

/** The inventory's commands handled by this service. */
type InventoryCommand = "RESERVE_INVENTORY" | "RELEASE_INVENTORY";

/**
 * `RESERVE_INVENTORY` (all items or none, at the catalog price) and `RELEASE_INVENTORY` (undo
 * the reservation, or leave a tombstone when there is none yet), decided for a chunk at once.
 */
export const INVENTORY_CHUNK: ChunkCommand<InventoryState, InventoryWrite, InventoryCommand> = {
  load: loadInventory,
  decide: (state, message, log) =>
    message.eventType === "RESERVE_INVENTORY"
      ? reserve(state, message as Message<"RESERVE_INVENTORY">, log)
      : release(state, message as Message<"RELEASE_INVENTORY">, log),
  write: writeInventory,
};

function reserve(
  state: InventoryState,
  message: Message<"RESERVE_INVENTORY">,
  log: Logger,
): Decided<InventoryState, InventoryWrite> {
  const { orderId, items } = message.body;
  const { decision, ...applied } = reserveIn(state, orderId, items);
  switch (decision.kind) {
    case "reserve":
      log.debug("Stock reserved", { lines: decision.lines.length });
      return { ...applied, reply: { eventType: "INVENTORY_RESERVED", body: { orderId } } };
    case "already-reserved":
      return { ...applied, reply: { eventType: "INVENTORY_RESERVED", body: { orderId } } };
    case "refuse":
      log.debug("Reservation refused", { code: decision.code, reason: decision.reason });
      return {
        ...applied,
        reply: {
          eventType: "INVENTORY_RESERVATION_FAILED",
          body: { orderId, code: decision.code, reason: decision.reason },
        },
      };
  }
}

function release(
  state: InventoryState,
  message: Message<"RELEASE_INVENTORY">,
  log: Logger,
): Decided<InventoryState, InventoryWrite> {
  const { orderId } = message.body;
  const { decision, ...applied } = releaseIn(state, orderId);
  if (decision.kind === "release") log.debug("Stock released", { lines: decision.lines.length });
  else if (decision.kind === "tombstone") {
    log.info("Release before reservation: tombstone written");
  }
  return { ...applied, reply: { eventType: "INVENTORY_RELEASED", body: { orderId } } };
}

/** The inventory service's commands: both decided by one `ChunkCommand`. */
export const INVENTORY_COMMANDS = {
  RESERVE_INVENTORY: INVENTORY_CHUNK,
  RELEASE_INVENTORY: INVENTORY_CHUNK,
} satisfies CommandHandlers;
