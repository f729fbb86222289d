/**
 * The payment service's command handlers: lock the order's payment, decide, call Stripe when
 * the decision says so, record the result, reply.
 *
 * The Stripe call happens inside the database transaction that claimed the command's idempotency
 * key (the participant runtime runs each handler inside it). That is deliberate: if the process
 * crashes or the commit fails after Stripe answered, the transaction rolls back, Kafka
 * redelivers the command, and the retry sends the same `idempotencyKey` (the command's
 * `eventId`), so Stripe replays its first answer instead of charging or refunding again. Holding
 * the row (and the per-order advisory lock) during the call also keeps a second command for the
 * same order from calling Stripe concurrently. The cost is a transaction held open for the call,
 * bounded by `STRIPE_TIMEOUT`.
 */
import type { CommandHandler } from "../../lib/participant/mod.ts";
import type { ProcessPayment, RefundPayment } from "../../lib/messages/mod.ts";
import { decideCharge, decideRefund } from "./decide.ts";
import type { PaymentGateway } from "./stripe_gateway.ts";
import {
  lockPayment,
  recordCharge,
  recordDecline,
  recordRefund,
  recordRefundFailure,
  writeTombstone,
} from "./store.ts";

/** What the payment handlers are built from. */
export interface PaymentCommandsOptions {
  gateway: PaymentGateway;
}

/** The payment service's commands, `PROCESS_PAYMENT` and `REFUND_PAYMENT`. */
export function createPaymentCommands(options: PaymentCommandsOptions): {
  PROCESS_PAYMENT: CommandHandler;
  REFUND_PAYMENT: CommandHandler;
} {
  const { gateway } = options;

  /** `PROCESS_PAYMENT`: charge the order once; a tombstone or a decided payment answers instead. */
  const processPayment: CommandHandler = async function processPayment(tx, message, log) {
    const command = message.body as ProcessPayment;
    const { orderId } = command;
    const decision = decideCharge(orderId, await lockPayment(tx, orderId));
    switch (decision.kind) {
      case "already-charged":
        log.info("Order already charged: answering without a second charge", {
          paymentIntentId: decision.paymentIntentId,
        });
        return {
          eventType: "PAYMENT_PROCESSED",
          body: {
            orderId,
            paymentIntentId: decision.paymentIntentId,
            amountCents: decision.amountCents,
          },
        };
      case "refuse":
        log.info("Charge refused without calling Stripe", { code: decision.code });
        return {
          eventType: "PAYMENT_FAILED",
          body: { orderId, code: decision.code, reason: decision.reason },
        };
      case "charge":
        break;
    }
    const result = await gateway.charge({
      orderId,
      sagaId: message.metadata.sagaId,
      amountCents: command.amountCents,
      currency: command.currency,
      paymentMethod: command.paymentMethod,
      idempotencyKey: message.metadata.eventId,
    });
    if (result.outcome === "succeeded") {
      await recordCharge(tx, {
        orderId,
        amountCents: result.amountCents,
        currency: command.currency,
        paymentIntentId: result.paymentIntentId,
      });
      log.info("Payment charged", {
        paymentIntentId: result.paymentIntentId,
        amountCents: result.amountCents,
      });
      return {
        eventType: "PAYMENT_PROCESSED",
        body: {
          orderId,
          paymentIntentId: result.paymentIntentId,
          amountCents: result.amountCents,
        },
      };
    }
    await recordDecline(tx, {
      orderId,
      amountCents: command.amountCents,
      currency: command.currency,
      paymentIntentId: result.paymentIntentId,
      code: result.code,
      reason: result.reason,
    });
    log.info("Payment failed", { outcome: result.outcome, code: result.code });
    return {
      eventType: "PAYMENT_FAILED",
      body: { orderId, code: result.code, reason: result.reason },
    };
  };

  /** `REFUND_PAYMENT`: undo the charge, or leave a tombstone when there is none yet. */
  const refundPayment: CommandHandler = async function refundPayment(tx, message, log) {
    const { orderId } = message.body as RefundPayment;
    const decision = decideRefund(await lockPayment(tx, orderId));
    switch (decision.kind) {
      case "tombstone":
        await writeTombstone(tx, orderId);
        log.info("Refund before charge: tombstone written");
        return refunded(orderId, null, 0);
      case "nothing-to-refund":
        return refunded(orderId, null, 0);
      case "already-refunded":
        return refunded(orderId, decision.refundId, decision.amountCents);
      case "refund":
        break;
    }
    const commandId = message.metadata.eventId;
    const result = await gateway.refund({
      orderId,
      sagaId: message.metadata.sagaId,
      paymentIntentId: decision.paymentIntentId,
      idempotencyKey: commandId,
    });
    if (result.outcome === "succeeded") {
      await recordRefund(tx, {
        orderId,
        commandId,
        refundId: result.refundId,
        amountCents: result.amountCents,
      });
      log.info("Payment refunded", { refundId: result.refundId, amountCents: result.amountCents });
      return refunded(orderId, result.refundId, result.amountCents);
    }
    await recordRefundFailure(tx, {
      orderId,
      commandId,
      refundId: result.refundId,
      amountCents: decision.amountCents,
      code: result.code,
    });
    log.warn("Refund failed", { refundId: result.refundId, code: result.code });
    return {
      eventType: "REFUND_FAILED",
      body: { orderId, code: result.code, reason: result.reason },
    };
  };

  return { PROCESS_PAYMENT: processPayment, REFUND_PAYMENT: refundPayment };
}

function refunded(orderId: string, refundId: string | null, amountCents: number) {
  return {
    eventType: "PAYMENT_REFUNDED" as const,
    body: { orderId, refundId, amountCents },
  };
}
