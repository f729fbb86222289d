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

/**
 * Records the messages' `eventId`s in `<schema>.processed_messages` unless there already, in two
 * statements at most; the claims come back in the messages' order. A repeated id is "new" for its
 * first message only.
 */
export async function claimMessages(
  tx: TransactionSql,
  schema: string,
  messages: readonly Message[],
): Promise<Claim[]> {
  const fingerprints = messages.map(messageFingerprint);
  const firstIndexOf = new Map<string, number>();
  messages.forEach((message, index) => {
    if (!firstIndexOf.has(message.metadata.eventId)) {
      firstIndexOf.set(message.metadata.eventId, index);
    }
  });
  const candidates = [...firstIndexOf.values()];
  const table = tx(`${schema}.processed_messages`);
  const inserted = new Set(
    (await tx<{ event_id: string }[]>`
      insert into ${table} (event_id, event_type, fingerprint)
      select * from unnest(
        ${candidates.map((i) => messages[i]!.metadata.eventId)}::uuid[],
        ${candidates.map((i) => messages[i]!.eventType)}::text[],
        ${candidates.map((i) => fingerprints[i]!)}::text[])
      on conflict (event_id) do nothing
      returning event_id`).map((row) => row.event_id),
  );
  const claimedBefore = [...firstIndexOf.keys()].filter((id) => !inserted.has(id));
  const earlier = new Map<string, { fingerprint: string; event_type: string }>();
  if (claimedBefore.length > 0) {
    const rows = await tx<{ event_id: string; fingerprint: string; event_type: string }[]>`
      select event_id, fingerprint, event_type from ${table}
      where event_id = any(${claimedBefore}::uuid[])`;
    for (const row of rows) earlier.set(row.event_id, row);
  }
  return messages.map((message, index) => {
    const { eventId } = message.metadata;
    const first = firstIndexOf.get(eventId)!;
    if (index === first && inserted.has(eventId)) return "new";
    const original = earlier.get(eventId) ??
      { fingerprint: fingerprints[first]!, event_type: messages[first]!.eventType };
    if (original.fingerprint !== fingerprints[index]) {
      throw new MalformedMessageError(
        `Event id ${eventId} was already used by another ${original.event_type} with a different body`,
      );
    }
    return "duplicate";
  });
}
