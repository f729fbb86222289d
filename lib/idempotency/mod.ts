/**
 * Idempotency keys (DESIGN §5): a message's `eventId` is recorded in the transaction that
 * handles it, so a redelivered message is recognised and not applied again. The same id arriving
 * with a different body is not a redelivery but a broken producer: it is refused as malformed.
 *
 * A participant records with each command's key the reply it answered (`recordReplies`), so a
 * command sent again is answered the same, found by its key (DESIGN §4); a command that awaits an
 * outcome keeps its key claimed with no reply, and itself (`awaitReplies`, `awaitingCommands`).
 */
import { createHash } from "node:crypto";
import type { Sql, TransactionSql } from "../db/mod.ts";
import { MalformedMessageError } from "../errors/mod.ts";
import type { EventType, Message, OutgoingMessage } from "../messages/mod.ts";

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
  const firstIndexOf = firstIndexOfEachEventId(messages);
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

/** A reply as a command's key records it: its type and body (ids are the runtime's). */
export type RecordedReply = Pick<OutgoingMessage, "eventType" | "body">;

/**
 * What a participant's claim found for a command: new (its key just taken, or taken back from a
 * command that awaited an outcome, `resumed`), or handled before, with the reply it was answered
 * with (null while it awaits an outcome, or for a key recorded before replies were); `inChunk`
 * when the earlier one is a message of the same call.
 */
export type CommandClaim =
  | { kind: "new"; resumed: boolean }
  | { kind: "duplicate"; reply: RecordedReply | null; awaiting: boolean; inChunk: boolean };

/**
 * Like `claimMessages`, for a participant's commands: records each key with the command's order,
 * takes back the key of a command that awaited an outcome (it is decided again), and says, for a
 * command handled before, what it was answered with. Two statements at most.
 */
export async function claimCommands(
  tx: TransactionSql,
  schema: string,
  messages: readonly Message[],
): Promise<CommandClaim[]> {
  const fingerprints = messages.map(messageFingerprint);
  const firstIndexOf = firstIndexOfEachEventId(messages);
  const candidates = [...firstIndexOf.values()];
  const table = tx(`${schema}.processed_messages`);
  const claimed = new Map(
    (await tx<{ event_id: string; resumed: boolean }[]>`
      insert into ${table} as p (event_id, event_type, fingerprint, order_id)
      select * from unnest(
        ${candidates.map((i) => messages[i]!.metadata.eventId)}::uuid[],
        ${candidates.map((i) => messages[i]!.eventType)}::text[],
        ${candidates.map((i) => fingerprints[i]!)}::text[],
        ${candidates.map((i) => messages[i]!.metadata.orderId)}::uuid[])
      on conflict (event_id) do update set awaiting = false
        where p.awaiting and p.fingerprint = excluded.fingerprint
      returning event_id, (xmax::text <> '0') as resumed`).map((
      row,
    ) => [row.event_id, row.resumed]),
  );
  const claimedBefore = [...firstIndexOf.keys()].filter((id) => !claimed.has(id));
  const earlier = new Map<string, {
    fingerprint: string;
    event_type: string;
    reply_type: string | null;
    reply_body: string | null;
    awaiting: boolean;
  }>();
  if (claimedBefore.length > 0) {
    const rows = await tx<{
      event_id: string;
      fingerprint: string;
      event_type: string;
      reply_type: string | null;
      reply_body: string | null;
      awaiting: boolean;
    }[]>`
      select event_id, fingerprint, event_type, reply_type, reply_body, awaiting from ${table}
      where event_id = any(${claimedBefore}::uuid[])`;
    for (const row of rows) earlier.set(row.event_id, row);
  }
  return messages.map((message, index): CommandClaim => {
    const { eventId } = message.metadata;
    const first = firstIndexOf.get(eventId)!;
    if (index === first && claimed.has(eventId)) {
      return { kind: "new", resumed: claimed.get(eventId)! };
    }
    const before = earlier.get(eventId);
    const original = before ??
      { fingerprint: fingerprints[first]!, event_type: messages[first]!.eventType };
    if (original.fingerprint !== fingerprints[index]) {
      throw new MalformedMessageError(
        `Event id ${eventId} was already used by another ${original.event_type} with a different body`,
      );
    }
    if (before === undefined) {
      return { kind: "duplicate", reply: null, awaiting: false, inChunk: true };
    }
    return {
      kind: "duplicate",
      reply: before.reply_type === null || before.reply_body === null ? null : {
        eventType: before.reply_type as EventType,
        body: JSON.parse(before.reply_body),
      } as RecordedReply,
      awaiting: before.awaiting,
      inChunk: false,
    };
  });
}

/**
 * Records with each command's key the reply it is answered with (one statement), so the same
 * command sent again is answered the same. The keys are claimed in this transaction.
 */
export async function recordReplies(
  tx: TransactionSql,
  schema: string,
  answers: readonly { eventId: string; reply: RecordedReply }[],
): Promise<void> {
  if (answers.length === 0) return;
  await tx`update ${tx(`${schema}.processed_messages`)} as p
    set reply_type = r.reply_type, reply_body = r.reply_body, awaiting = false, command = null
    from unnest(
      ${answers.map((a) => a.eventId)}::uuid[],
      ${answers.map((a) => a.reply.eventType)}::text[],
      ${
    answers.map((a) => JSON.stringify(a.reply.body))
  }::text[]) as r(event_id, reply_type, reply_body)
    where p.event_id = r.event_id`;
}

/**
 * Keeps the claimed keys of commands that await an outcome, with no reply, and the commands
 * themselves: a redelivery finds the key and is not answered; `awaitingCommands` gives them back
 * to be decided again once the outcome is final. One statement.
 */
export async function awaitReplies(
  tx: TransactionSql,
  schema: string,
  messages: readonly Message[],
): Promise<void> {
  if (messages.length === 0) return;
  await tx`update ${tx(`${schema}.processed_messages`)} as p
    set awaiting = true, command = r.command
    from unnest(
      ${messages.map((m) => m.metadata.eventId)}::uuid[],
      ${messages.map((m) => JSON.stringify(m))}::text[]) as r(event_id, command)
    where p.event_id = r.event_id`;
}

/**
 * Gives back keys claimed in this transaction for commands not answered (yet): a new key is
 * removed, the key of a command that awaited an outcome awaits again. One statement each.
 */
export async function releaseClaims(
  tx: TransactionSql,
  schema: string,
  released: readonly { eventId: string; resumed: boolean }[],
): Promise<void> {
  const table = tx(`${schema}.processed_messages`);
  const fresh = released.filter((r) => !r.resumed).map((r) => r.eventId);
  const resumed = released.filter((r) => r.resumed).map((r) => r.eventId);
  await Promise.all([
    fresh.length === 0
      ? undefined
      : tx`delete from ${table} where event_id = any(${fresh}::uuid[])`,
    resumed.length === 0
      ? undefined
      : tx`update ${table} set awaiting = true where event_id = any(${resumed}::uuid[])`,
  ]);
}

/** The commands of these orders that await an outcome, in the order they came. */
export async function awaitingCommands(
  sql: Sql,
  schema: string,
  orderIds: readonly string[],
): Promise<Message[]> {
  if (orderIds.length === 0) return [];
  const rows = await sql<{ command: string }[]>`
    select command from ${sql(`${schema}.processed_messages`)}
    where awaiting and order_id = any(${orderIds}::uuid[])
    order by processed_at, event_id`;
  return rows.map((row) => JSON.parse(row.command) as Message);
}

/** Each `eventId` of the messages with the index of its first message, in the messages' order. */
function firstIndexOfEachEventId(messages: readonly Message[]): Map<string, number> {
  const firstIndexOf = new Map<string, number>();
  messages.forEach((message, index) => {
    if (!firstIndexOf.has(message.metadata.eventId)) {
      firstIndexOf.set(message.metadata.eventId, index);
    }
  });
  return firstIndexOf;
}
