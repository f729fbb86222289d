/**
 * Idempotency keys (DESIGN §5): a message's `eventId` is recorded in the transaction that
 * handles it, so a redelivered message is recognised and skipped. The same id arriving with a
 * different body is not a redelivery but a broken producer: it is refused as malformed.
 */
import { createHash } from "node:crypto";
import type { TransactionSql } from "../db/mod.ts";
import { MalformedMessageError } from "../errors/mod.ts";
import type { Message } from "../messages/mod.ts";

/** Whether the message is new or was handled before. */
export type Claim = "new" | "duplicate";

/** The fingerprint stored with an event id: sha-256 of its type and body. */
export function messageFingerprint(message: Message): string {
  return createHash("sha256")
    .update(message.eventType)
    .update("\n")
    .update(JSON.stringify(message.body))
    .digest("hex");
}

/** Records the message's `eventId` in `<schema>.processed_messages` unless it is there already. */
export async function claimMessage(
  tx: TransactionSql,
  schema: string,
  message: Message,
): Promise<Claim> {
  const fingerprint = messageFingerprint(message);
  const table = tx(`${schema}.processed_messages`);
  const inserted = await tx`
    insert into ${table} (event_id, event_type, fingerprint)
    values (${message.metadata.eventId}, ${message.eventType}, ${fingerprint})
    on conflict (event_id) do nothing
    returning event_id`;
  if (inserted.length > 0) return "new";
  const [earlier] = await tx<{ fingerprint: string; event_type: string }[]>`
    select fingerprint, event_type from ${table} where event_id = ${message.metadata.eventId}`;
  if (earlier?.fingerprint !== fingerprint) {
    throw new MalformedMessageError(
      `Event id ${message.metadata.eventId} was already used by another ${
        earlier?.event_type ?? "message"
      } with a different body`,
    );
  }
  return "duplicate";
}
