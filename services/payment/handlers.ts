/**
 * The payment service's command handlers, each in atomic phases around its Stripe call
 * (DESIGN §5, `CallingCommand`): (1) lock the order's payment, decide, record the attempt;
 * (2) call Stripe, with no transaction open; (3) record the outcome and reply.
 *
 * Every call passes `idempotencyKey` = the eventId of the command that recorded the attempt. If
 * the process crashes, or the outcome cannot be recorded, after Stripe answered, the attempt
 * stays recorded and the command's key unclaimed: Kafka redelivers the command, phase 1 finds
 * the attempt, and the call is repeated with the same key, so Stripe replays its first answer
 * instead of charging or refunding again. Any later command of the order finds the attempt too
 * and repeats it the same way before anything else is decided.
 *
 * An outcome that is not final answers nothing (DESIGN §5): a charge Stripe answers `processing`
 * and a refund it answers `pending` are recorded as such, and the command, and any command of
 * the order that comes meanwhile (a refund of a `processing` charge among them), awaits
 * (`Awaiting`). The follower (`follower.ts`) reads the outcome again until it is final, records
 * it, and has the awaiting commands decided again: then they are answered from what it came to.
 */
import type { CallingCommand, Reply } from "../../lib/participant/mod.ts";
import type { Message } from "../../lib/messages/mod.ts";
import { type ChargeAttempt, type ChargeDecision, decideCharge, decideRefund } from "./decide.ts";
import type {
  ChargeRequest,
  ChargeResult,
  PaymentGateway,
  RefundResult,
} from "./stripe_gateway.ts";
import {
  lockPayment,
  recordChargeAttempt,
  recordChargeOutcome,
  recordRefundAttempt,
  recordRefundOutcome,
  writeTombstone,
} from "./store.ts";

/** What the payment handlers are built from. */
export interface PaymentCommandsOptions {
  gateway: PaymentGateway;
}

/** A Stripe call as phase 1 decided it. */
export type StripeCall =
  | { kind: "charge"; request: ChargeRequest }
  | { kind: "refund"; paymentIntentId: string; amountCents: number; key: string };

/** What the Stripe call answered. */
export type StripeAnswer = ChargeResult | RefundResult;

/** The command types the payment service handles. */
type PaymentCommand = "PROCESS_PAYMENT" | "REFUND_PAYMENT";

/** The payment service's commands, `PROCESS_PAYMENT` and `REFUND_PAYMENT`. */
export function createPaymentCommands(options: PaymentCommandsOptions): {
  PROCESS_PAYMENT: CallingCommand<StripeCall, StripeAnswer, "PROCESS_PAYMENT">;
  REFUND_PAYMENT: CallingCommand<StripeCall, StripeAnswer, "REFUND_PAYMENT">;
} {
  const { gateway } = options;

  function call(call: StripeCall, message: Message<PaymentCommand>): Promise<StripeAnswer> {
    if (call.kind === "charge") return gateway.charge(call.request);
    const { orderId } = message.body;
    return gateway.refund({
      orderId,
      sagaId: message.metadata.sagaId,
      paymentIntentId: call.paymentIntentId,
      idempotencyKey: call.key,
    });
  }

  /** Records a charge's outcome, unless it is recorded already; true when this call recorded it. */
  function settle(
    tx: Parameters<typeof recordChargeOutcome>[0],
    orderId: string,
    call: Extract<StripeCall, { kind: "charge" }>,
    result: StripeAnswer,
  ): Promise<boolean> {
    return recordChargeOutcome(tx, {
      orderId,
      key: call.request.idempotencyKey,
      result: result as ChargeResult,
    });
  }

  /** `PROCESS_PAYMENT`: charge the order once; a tombstone or a decided payment answers instead. */
  const processPayment: CallingCommand<StripeCall, StripeAnswer, "PROCESS_PAYMENT"> = {
    async prepare(tx, message, log) {
      const command = message.body;
      const { orderId } = command;
      const decision = decideCharge(orderId, await lockPayment(tx, orderId));
      switch (decision.kind) {
        case "await":
          return { awaiting: `PaymentIntent ${decision.paymentIntentId} is processing` };
        case "already-charged":
          log.info("Order already charged: answering without a second charge", {
            paymentIntentId: decision.paymentIntentId,
          });
          return { reply: chargeReply(orderId, decision) };
        case "refuse":
          log.debug("Charge refused without calling Stripe", { code: decision.code });
          return { reply: chargeReply(orderId, decision) };
        case "resume":
          log.info("Repeating the charge attempt recorded earlier", {
            idempotencyKey: decision.attempt.key,
          });
          return { call: chargeCall(orderId, message, decision.attempt) };
        case "charge": {
          const attempt: ChargeAttempt = {
            key: message.metadata.eventId,
            amountCents: command.amountCents,
            currency: command.currency,
            paymentMethod: command.paymentMethod,
          };
          await recordChargeAttempt(tx, orderId, attempt);
          return { call: chargeCall(orderId, message, attempt) };
        }
      }
    },
    call,
    async complete(tx, message, { call, result }, log) {
      const { orderId } = message.body;
      if (call.kind !== "charge") throw new TypeError("A charge completes a charge call only");
      if (!await settle(tx, orderId, call, result)) {
        // Recorded by another handling of the same attempt: the stored payment answers.
        const stored = decideCharge(orderId, await lockPayment(tx, orderId));
        return stored.kind === "await"
          ? { awaiting: `PaymentIntent ${stored.paymentIntentId} is processing` }
          : chargeReply(orderId, stored);
      }
      const charge = result as ChargeResult;
      if (charge.outcome === "processing") {
        log.debug("Payment processing: followed until it is final", {
          paymentIntentId: charge.paymentIntentId,
        });
        return { awaiting: `PaymentIntent ${charge.paymentIntentId} is processing` };
      }
      if (charge.outcome === "succeeded") {
        log.debug("Payment charged", {
          paymentIntentId: charge.paymentIntentId,
          amountCents: charge.amountCents,
        });
        return {
          eventType: "PAYMENT_PROCESSED",
          body: {
            orderId,
            paymentIntentId: charge.paymentIntentId,
            amountCents: charge.amountCents,
          },
        };
      }
      log.debug("Payment failed", { outcome: charge.outcome, code: charge.code });
      return {
        eventType: "PAYMENT_FAILED",
        body: { orderId, code: charge.code, reason: charge.reason },
      };
    },
  };

  /**
   * `REFUND_PAYMENT`: undo the charge, or leave a tombstone when there is none yet. A charge
   * attempt still unanswered is settled first (repeated under its key), then the refund decided.
   */
  const refundPayment: CallingCommand<StripeCall, StripeAnswer, "REFUND_PAYMENT"> = {
    async prepare(tx, message, log) {
      const { orderId } = message.body;
      const decision = decideRefund(
        await lockPayment(tx, orderId, { commandId: message.metadata.eventId }),
      );
      switch (decision.kind) {
        case "await":
          return { awaiting: `${decision.waitingFor} is not final` };
        case "refund-failed":
          return {
            reply: {
              eventType: "REFUND_FAILED",
              body: { orderId, code: decision.code, reason: decision.reason },
            },
          };
        case "tombstone":
          await writeTombstone(tx, orderId);
          log.info("Refund before charge: tombstone written");
          return { reply: refunded(orderId, null, 0) };
        case "nothing-to-refund":
          return { reply: refunded(orderId, null, 0) };
        case "already-refunded":
          return { reply: refunded(orderId, decision.refundId, decision.amountCents) };
        case "settle-charge":
          log.info("Settling the order's unanswered charge attempt before refunding", {
            idempotencyKey: decision.attempt.key,
          });
          return { call: chargeCall(orderId, message, decision.attempt) };
        case "refund": {
          let key = decision.attemptKey;
          if (key === null) {
            key = message.metadata.eventId;
            await recordRefundAttempt(tx, {
              orderId,
              commandId: key,
              amountCents: decision.amountCents,
            });
          }
          return {
            call: {
              kind: "refund",
              paymentIntentId: decision.paymentIntentId,
              amountCents: decision.amountCents,
              key,
            },
          };
        }
      }
    },
    call,
    async complete(tx, message, { call, result }, log) {
      const { orderId } = message.body;
      if (call.kind === "charge") {
        await settle(tx, orderId, call, result);
        return "again";
      }
      const refund = result as RefundResult;
      // Not recorded when another handling of the same attempt recorded it first: Stripe answered
      // both alike (one key), so this answer stands, unless the refund was pending then and has
      // been followed since: the stored payment answers.
      const recorded = await recordRefundOutcome(tx, {
        orderId,
        commandId: call.key,
        result: refund,
      });
      if (refund.outcome === "pending") {
        if (!recorded) return "again";
        log.debug("Refund pending: followed until it is final", { refundId: refund.refundId });
        return { awaiting: `refund ${refund.refundId} is pending` };
      }
      if (refund.outcome === "succeeded") {
        log.debug("Payment refunded", {
          refundId: refund.refundId,
          amountCents: refund.amountCents,
        });
        return refunded(orderId, refund.refundId, refund.amountCents);
      }
      log.warn("Refund failed", { refundId: refund.refundId, code: refund.code });
      return {
        eventType: "REFUND_FAILED",
        body: { orderId, code: refund.code, reason: refund.reason },
      };
    },
  };

  return { PROCESS_PAYMENT: processPayment, REFUND_PAYMENT: refundPayment };
}

/** The charge call of an attempt, for the order's saga. */
function chargeCall(orderId: string, message: Message, attempt: ChargeAttempt): StripeCall {
  const { sagaId } = message.metadata;
  return {
    kind: "charge",
    request: {
      orderId,
      ...(sagaId === undefined ? {} : { sagaId }),
      amountCents: attempt.amountCents,
      currency: attempt.currency,
      paymentMethod: attempt.paymentMethod,
      idempotencyKey: attempt.key,
    },
  };
}

/** The reply to a charge decided from the stored payment. */
function chargeReply(orderId: string, decision: ChargeDecision): Reply {
  switch (decision.kind) {
    case "already-charged":
      return {
        eventType: "PAYMENT_PROCESSED",
        body: {
          orderId,
          paymentIntentId: decision.paymentIntentId,
          amountCents: decision.amountCents,
        },
      };
    case "refuse":
      return {
        eventType: "PAYMENT_FAILED",
        body: { orderId, code: decision.code, reason: decision.reason },
      };
    case "charge":
    case "resume":
    case "await":
      throw new TypeError(`Cannot answer the charge of order "${orderId}": it is not decided`);
  }
}

function refunded(orderId: string, refundId: string | null, amountCents: number) {
  return {
    eventType: "PAYMENT_REFUNDED" as const,
    body: { orderId, refundId, amountCents },
  };
}
