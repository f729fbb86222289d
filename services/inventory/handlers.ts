/** The inventory service's command handlers: load under lock, decide, apply, reply. */
import type { TransactionSql } from "../../lib/db/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import type { Message } from "../../lib/messages/mod.ts";
import type { CommandHandlers, Reply } from "../../lib/participant/mod.ts";
import { decideRelease, decideReserve, mergeLines } from "./decide.ts";
import { lockReservation, lockStock, release, reserve, writeTombstone } from "./store.ts";

/** `RESERVE_INVENTORY`: all items or none. */
export async function reserveInventory(
  tx: TransactionSql,
  message: Message<"RESERVE_INVENTORY">,
  log: Logger,
): Promise<Reply> {
  const { orderId, items } = message.body;
  // Pipelined: one round trip; the reservation is locked before the stock, as always.
  const [existing, stock] = await Promise.all([
    lockReservation(tx, orderId),
    lockStock(tx, mergeLines(items).map((line) => line.productId)),
  ]);
  const decision = decideReserve(orderId, existing, stock, items);
  switch (decision.kind) {
    case "reserve":
      await reserve(tx, orderId, decision.lines);
      log.debug("Stock reserved", { lines: decision.lines.length });
      return { eventType: "INVENTORY_RESERVED", body: { orderId } };
    case "already-reserved":
      return { eventType: "INVENTORY_RESERVED", body: { orderId } };
    case "refuse":
      log.debug("Reservation refused", { code: decision.code, reason: decision.reason });
      return {
        eventType: "INVENTORY_RESERVATION_FAILED",
        body: { orderId, code: decision.code, reason: decision.reason },
      };
  }
}

/** `RELEASE_INVENTORY`: undo the reservation, or leave a tombstone when there is none yet. */
export async function releaseInventory(
  tx: TransactionSql,
  message: Message<"RELEASE_INVENTORY">,
  log: Logger,
): Promise<Reply> {
  const { orderId } = message.body;
  const decision = decideRelease(await lockReservation(tx, orderId));
  if (decision.kind === "release") {
    await release(tx, orderId, decision.lines);
    log.debug("Stock released", { lines: decision.lines.length });
  } else if (decision.kind === "tombstone") {
    await writeTombstone(tx, orderId);
    log.info("Release before reservation: tombstone written");
  }
  return { eventType: "INVENTORY_RELEASED", body: { orderId } };
}

/** The inventory service's commands. */
export const INVENTORY_COMMANDS = {
  RESERVE_INVENTORY: reserveInventory,
  RELEASE_INVENTORY: releaseInventory,
} satisfies CommandHandlers;
