/**
 * The test server's in-memory Stripe account: PaymentIntents, Charges and Refunds, the API
 * operations on them, and the ledger derived from them. Synchronous and free of HTTP; the
 * objects are typed with the `stripe` SDK's own resource types so their shape follows the SDK.
 *
 * @module
 */
import type { Stripe } from "stripe";
import { type CardDecline, findTestCard, type TestCard } from "./cards.ts";
import {
  type ApiResult,
  invalidRequest,
  resourceMissing,
  stripeError,
  StripeRequestError,
} from "./errors.ts";
import type { FormParams, FormValue } from "./form.ts";

/** Copies of everything the server holds, oldest first. */
export interface StripeTestRecords {
  paymentIntents: Stripe.PaymentIntent[];
  charges: Stripe.Charge[];
  refunds: Stripe.Refund[];
}

/** Money moved for one `metadata.orderId`, counted from succeeded charges and refunds only. */
export interface LedgerEntry {
  orderId: string;
  chargedCents: number;
  refundedCents: number;
  charges: number;
  refunds: number;
}

/** The ledger: one entry per `metadata.orderId`, plus totals over every charge and refund. */
export interface StripeLedger {
  orders: Record<string, LedgerEntry>;
  totals: Omit<LedgerEntry, "orderId">;
}

/**
 * The API operations of the in-memory account; each returns the status and body to send. Each
 * first settles the asynchronous outcomes that are due (payments `processing` and refunds
 * `pending` whose async delay has passed), so every read sees the state of its moment.
 */
export interface StripeStore {
  /** `POST /v1/payment_intents`. */
  createPaymentIntent(params: FormParams): ApiResult;
  /** `POST /v1/payment_intents/:id/confirm`. */
  confirmPaymentIntent(id: string, params: FormParams): ApiResult;
  /** `POST /v1/payment_intents/:id/cancel`. */
  cancelPaymentIntent(id: string, params: FormParams): ApiResult;
  /** `GET /v1/payment_intents/:id`. */
  retrievePaymentIntent(id: string, params: FormParams): ApiResult;
  /** `GET /v1/payment_intents`. */
  listPaymentIntents(params: FormParams): ApiResult;
  /** `GET /v1/charges/:id`. */
  retrieveCharge(id: string, params: FormParams): ApiResult;
  /** `GET /v1/charges`. */
  listCharges(params: FormParams): ApiResult;
  /** `POST /v1/refunds`. */
  createRefund(params: FormParams): ApiResult;
  /** `GET /v1/refunds/:id`. */
  retrieveRefund(id: string, params: FormParams): ApiResult;
  /** `GET /v1/refunds`. */
  listRefunds(params: FormParams): ApiResult;
  /** Copies of all records. */
  records(): StripeTestRecords;
  /** The ledger computed from the records. */
  ledger(): StripeLedger;
}

/** Options of `createStore()`. */
export interface StoreOptions {
  /** Clock for `created` timestamps; defaults to the system clock. */
  now?: () => Date;
  /**
   * Whether cards with a `refundFailureReason` (`pm_card_refundFail`) fail their refunds now;
   * asked at each refund. Defaults to always true.
   */
  refundFailures?: () => boolean;
  /**
   * How long, in ms, a `processing` payment or a `pending` refund waits before its outcome;
   * asked as it starts waiting. Defaults to {@linkcode DEFAULT_ASYNC_DELAY_MS}.
   */
  asyncDelayMs?: () => number;
}

/** How long asynchronous outcomes take when nothing else is said: 2 s. */
export const DEFAULT_ASYNC_DELAY_MS = 2_000;

/** An outcome that comes later: when it is due and what it does. */
type Settlement =
  | { kind: "payment"; dueMs: number; intentId: string; chargeId: string; succeeds: boolean }
  | { kind: "refund"; dueMs: number; refundId: string; failureReason?: string };

const MAX_AMOUNT = 99_999_999;
const PAYMENT_INTENT_PARAMS = [
  "amount",
  "automatic_payment_methods",
  "capture_method",
  "confirm",
  "currency",
  "description",
  "expand",
  "metadata",
  "payment_method",
  "payment_method_types",
  "receipt_email",
  "return_url",
  "statement_descriptor",
  "statement_descriptor_suffix",
];
const CONFIRM_PARAMS = ["expand", "payment_method", "return_url"];
const CANCEL_PARAMS = ["cancellation_reason", "expand"];
const CANCELLATION_REASONS = ["abandoned", "duplicate", "fraudulent", "requested_by_customer"];
/** Stripe also cancels some `processing` payments; this server, like cards, does not. */
const CANCELLABLE = [
  "requires_payment_method",
  "requires_capture",
  "requires_confirmation",
  "requires_action",
];
const REFUND_PARAMS = ["amount", "charge", "expand", "metadata", "payment_intent", "reason"];
const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer"];
const RETRIEVE_PARAMS = ["expand", "client_secret"];
const LIST_PARAMS = ["ending_before", "expand", "limit", "starting_after"];

/** Creates an empty in-memory Stripe account. */
export function createStore(options: StoreOptions = {}): StripeStore {
  const now = options.now ?? (() => new Date());
  const refundFailures = options.refundFailures ?? (() => true);
  const asyncDelayMs = options.asyncDelayMs ?? (() => DEFAULT_ASYNC_DELAY_MS);
  const paymentIntents = new Map<string, Stripe.PaymentIntent>();
  const charges = new Map<string, Stripe.Charge>();
  const refunds = new Map<string, Stripe.Refund>();
  /** Outcomes still to come, in the order they started waiting. */
  const settlements: Settlement[] = [];

  /** Applies every outcome that is due; computed on read, so no timer is needed. */
  function settleDue(): void {
    const nowMs = now().getTime();
    for (let i = 0; i < settlements.length;) {
      const due = settlements[i] as Settlement;
      if (due.dueMs > nowMs) {
        i++;
        continue;
      }
      settlements.splice(i, 1);
      if (due.kind === "payment") settlePayment(due);
      else settleRefund(due);
    }
  }

  function settlePayment(due: Extract<Settlement, { kind: "payment" }>): void {
    const intent = paymentIntents.get(due.intentId);
    const pending = charges.get(due.chargeId);
    if (intent === undefined || pending === undefined || intent.status !== "processing") return;
    const paymentMethod = pending.payment_method as string;
    const card = testCard(paymentMethod, "payment_method");
    const charge = {
      ...newCharge(intent, paymentMethod, card, due.succeeds ? "succeeded" : "failed"),
      id: pending.id,
      created: pending.created,
    };
    charges.set(charge.id, charge);
    intent.processing = null;
    if (due.succeeds) succeed(intent, paymentMethod);
    else declinePayment(intent, charge, card.decline as CardDecline);
  }

  function settleRefund(due: Extract<Settlement, { kind: "refund" }>): void {
    const refund = refunds.get(due.refundId);
    if (refund === undefined || refund.status !== "pending") return;
    delete refund.pending_reason;
    if (due.failureReason === undefined) {
      refund.status = "succeeded";
      return;
    }
    refund.status = "failed";
    refund.failure_reason = due.failureReason;
    refund.failure_balance_transaction = newId("txn_");
    const charge = typeof refund.charge === "string" ? charges.get(refund.charge) : undefined;
    if (charge !== undefined) {
      charge.amount_refunded -= refund.amount;
      charge.refunded = charge.amount_refunded === charge.amount;
    }
  }

  function created(): number {
    return Math.floor(now().getTime() / 1000);
  }

  function createPaymentIntent(params: FormParams): ApiResult {
    checkKnown(params, PAYMENT_INTENT_PARAMS);
    const amount = amountParam(params, "amount", true) as number;
    const currency = currencyParam(params);
    const metadata = metadataParam(params);
    const confirm = booleanParam(params, "confirm") ?? false;
    const paymentMethod = stringParam(params, "payment_method");
    const description = stringParam(params, "description") ?? null;
    const receiptEmail = stringParam(params, "receipt_email") ?? null;
    const returnUrl = stringParam(params, "return_url");
    const captureMethod = stringParam(params, "capture_method") ?? "automatic_async";
    if (captureMethod !== "automatic" && captureMethod !== "automatic_async") {
      throw invalidRequest(
        `Invalid capture_method: the Stripe test server supports only automatic and automatic_async, got "${captureMethod}"`,
        { param: "capture_method" },
      );
    }
    const types = stringArrayParam(params, "payment_method_types");
    const automatic = objectParam(params, "automatic_payment_methods");
    if (types !== undefined && automatic !== undefined) {
      throw invalidRequest(
        "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
      );
    }
    for (const type of types ?? []) {
      if (type !== "card") {
        throw invalidRequest(
          `The payment method type "${type}" is invalid. The Stripe test server supports only "card".`,
          { param: "payment_method_types" },
        );
      }
    }
    const automaticPaymentMethods = types === undefined
      ? automaticPaymentMethodsParam(automatic)
      : null;
    if (paymentMethod !== undefined) testCard(paymentMethod, "payment_method");
    if (confirm) {
      requireConfirmable(paymentMethod, automaticPaymentMethods, returnUrl);
    }
    const expand = expandParam(params);
    const id = newId("pi_");
    const intent: Stripe.PaymentIntent = {
      id,
      object: "payment_intent",
      allowed_payment_method_types: null,
      amount,
      amount_capturable: 0,
      amount_received: 0,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: automaticPaymentMethods,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${randomChars(25)}`,
      confirmation_method: "automatic",
      created: created(),
      currency,
      customer: null,
      customer_account: null,
      description,
      excluded_payment_method_types: null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      managed_payments: null,
      metadata,
      next_action: null,
      on_behalf_of: null,
      payment_method: paymentMethod ?? null,
      payment_method_configuration_details: null,
      payment_method_options: {
        card: {
          installments: null,
          mandate_options: null,
          network: null,
          request_three_d_secure: "automatic",
        },
      },
      payment_method_types: ["card"],
      payment_record: null,
      processing: null,
      receipt_email: receiptEmail,
      review: null,
      setup_future_usage: null,
      shipping: null,
      source: null,
      statement_descriptor: stringParam(params, "statement_descriptor") ?? null,
      statement_descriptor_suffix: stringParam(params, "statement_descriptor_suffix") ?? null,
      status: paymentMethod === undefined ? "requires_payment_method" : "requires_confirmation",
      transfer_data: null,
      transfer_group: null,
    };
    paymentIntents.set(id, intent);
    if (confirm && paymentMethod !== undefined) {
      return confirmWith(intent, paymentMethod, expand, returnUrl);
    }
    return ok(intent, expand);
  }

  function confirmPaymentIntent(id: string, params: FormParams): ApiResult {
    checkKnown(params, CONFIRM_PARAMS);
    const intent = paymentIntents.get(id);
    if (intent === undefined) throw resourceMissing("payment_intent", id, "intent");
    const paymentMethod = stringParam(params, "payment_method") ??
      (typeof intent.payment_method === "string" ? intent.payment_method : undefined);
    if (paymentMethod !== undefined) testCard(paymentMethod, "payment_method");
    if (intent.status !== "requires_payment_method" && intent.status !== "requires_confirmation") {
      throw invalidRequest(
        `You cannot confirm this PaymentIntent because it has a status of ${intent.status}.`,
        { code: "payment_intent_unexpected_state" },
      );
    }
    requireConfirmable(
      paymentMethod,
      intent.automatic_payment_methods,
      stringParam(params, "return_url"),
    );
    return confirmWith(
      intent,
      paymentMethod as string,
      expandParam(params),
      stringParam(params, "return_url"),
    );
  }

  function confirmWith(
    intent: Stripe.PaymentIntent,
    paymentMethod: string,
    expand: string[],
    returnUrl: string | undefined,
  ): ApiResult {
    const card = testCard(paymentMethod, "payment_method");
    if (card.asyncOutcome === "requires_action") {
      intent.status = "requires_action";
      intent.payment_method = paymentMethod;
      intent.last_payment_error = null;
      intent.next_action = threeDSecureAction(intent, returnUrl);
      return ok(intent, expand);
    }
    if (card.asyncOutcome !== undefined) {
      const charge = newCharge(intent, paymentMethod, card, "pending");
      charges.set(charge.id, charge);
      intent.latest_charge = charge.id;
      intent.status = "processing";
      intent.payment_method = paymentMethod;
      intent.last_payment_error = null;
      intent.processing = { type: "card" };
      settlements.push({
        kind: "payment",
        dueMs: now().getTime() + asyncDelayMs(),
        intentId: intent.id,
        chargeId: charge.id,
        succeeds: card.asyncOutcome === "processing_succeeds",
      });
      return ok(intent, expand);
    }
    const charge = newCharge(
      intent,
      paymentMethod,
      card,
      card.decline === undefined ? "succeeded" : "failed",
    );
    charges.set(charge.id, charge);
    intent.latest_charge = charge.id;
    if (card.decline !== undefined) {
      const decline = card.decline;
      declinePayment(intent, charge, decline);
      return stripeError(402, {
        type: "card_error",
        code: decline.code,
        decline_code: decline.declineCode,
        message: decline.message,
        charge: charge.id,
        payment_intent: structuredClone(intent),
        payment_method_type: "card",
      });
    }
    succeed(intent, paymentMethod);
    return ok(intent, expand);
  }

  function succeed(intent: Stripe.PaymentIntent, paymentMethod: string): void {
    intent.status = "succeeded";
    intent.amount_received = intent.amount;
    intent.payment_method = paymentMethod;
    intent.last_payment_error = null;
    intent.next_action = null;
  }

  function declinePayment(
    intent: Stripe.PaymentIntent,
    charge: Stripe.Charge,
    decline: CardDecline,
  ): void {
    intent.status = "requires_payment_method";
    intent.payment_method = null;
    intent.next_action = null;
    intent.last_payment_error = {
      charge: charge.id,
      code: decline.code as Stripe.PaymentIntent.LastPaymentError.Code,
      decline_code: decline.declineCode,
      doc_url: `https://stripe.com/docs/error-codes/${decline.code.replaceAll("_", "-")}`,
      message: decline.message,
      payment_method_type: "card",
      type: "card_error",
    };
  }

  function cancelPaymentIntent(id: string, params: FormParams): ApiResult {
    checkKnown(params, CANCEL_PARAMS);
    const intent = paymentIntents.get(id);
    if (intent === undefined) throw resourceMissing("payment_intent", id, "intent");
    const reason = stringParam(params, "cancellation_reason");
    if (reason !== undefined && !CANCELLATION_REASONS.includes(reason)) {
      throw invalidRequest(
        `Invalid cancellation_reason: must be one of ${CANCELLATION_REASONS.join(", ")}`,
        { param: "cancellation_reason" },
      );
    }
    const expand = expandParam(params);
    if (!CANCELLABLE.includes(intent.status)) {
      throw new StripeRequestError(400, {
        type: "invalid_request_error",
        code: "payment_intent_unexpected_state",
        message:
          `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. ` +
          `Only a PaymentIntent with one of the following statuses may be canceled: ${
            CANCELLABLE.join(", ")
          }.`,
        payment_intent: structuredClone(intent),
      });
    }
    intent.status = "canceled";
    intent.canceled_at = created();
    intent.cancellation_reason = (reason ?? null) as Stripe.PaymentIntent.CancellationReason | null;
    intent.next_action = null;
    return ok(intent, expand);
  }

  function newCharge(
    intent: Stripe.PaymentIntent,
    paymentMethod: string,
    card: TestCard,
    status: "succeeded" | "failed" | "pending",
  ): Stripe.Charge {
    const decline = status === "failed" ? card.decline : undefined;
    const paid = status === "succeeded";
    const year = now().getUTCFullYear();
    return {
      id: newId("ch_"),
      object: "charge",
      amount: intent.amount,
      amount_captured: paid ? intent.amount : 0,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: paid ? newId("txn_") : null,
      billing_details: {
        address: {
          city: null,
          country: null,
          line1: null,
          line2: null,
          postal_code: null,
          state: null,
        },
        email: null,
        name: null,
        phone: null,
        tax_id: null,
      },
      calculated_statement_descriptor: "STRIPE TEST SERVER",
      captured: paid,
      created: created(),
      currency: intent.currency,
      customer: null,
      description: intent.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: decline?.code ?? null,
      failure_message: decline?.message ?? null,
      fraud_details: {},
      livemode: false,
      metadata: { ...intent.metadata },
      on_behalf_of: null,
      outcome: status === "pending" ? null : {
        advice_code: null,
        network_advice_code: null,
        network_decline_code: null,
        network_status: decline?.networkStatus ?? "approved_by_network",
        reason: decline?.declineCode ?? null,
        risk_level: "normal",
        seller_message: decline?.sellerMessage ?? "Payment complete.",
        type: decline?.outcomeType ?? "authorized",
      },
      paid,
      payment_intent: intent.id,
      payment_method: paymentMethod,
      payment_method_details: {
        card: {
          amount_authorized: paid ? intent.amount : null,
          authorization_code: paid ? randomDigits(6) : null,
          brand: card.brand,
          checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
          country: card.country,
          electronic_commerce_indicator: null,
          exp_month: 12,
          exp_year: year + 3,
          funding: card.funding,
          installments: null,
          last4: card.last4,
          mandate: null,
          network: card.brand,
          network_transaction_id: paid ? randomDigits(15) : null,
          regulated_status: "unregulated",
          three_d_secure: null,
          transaction_link_id: null,
          wallet: null,
        },
        type: "card",
      },
      receipt_email: intent.receipt_email,
      receipt_number: null,
      receipt_url: null,
      refunded: false,
      review: null,
      shipping: null,
      source: null,
      source_transfer: null,
      statement_descriptor: intent.statement_descriptor,
      statement_descriptor_suffix: intent.statement_descriptor_suffix,
      status,
      transfer_data: null,
      transfer_group: null,
    };
  }

  function createRefund(params: FormParams): ApiResult {
    checkKnown(params, REFUND_PARAMS);
    const intentId = stringParam(params, "payment_intent");
    const chargeId = stringParam(params, "charge");
    const amountAsked = amountParam(params, "amount", false);
    const metadata = metadataParam(params);
    const reason = stringParam(params, "reason");
    if (reason !== undefined && !REFUND_REASONS.includes(reason)) {
      throw invalidRequest(
        `Invalid reason: must be one of ${REFUND_REASONS.join(", ")}`,
        { param: "reason" },
      );
    }
    const expand = expandParam(params);
    const charge = refundableCharge(intentId, chargeId);
    const remaining = charge.amount - charge.amount_refunded;
    if (remaining <= 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, {
        code: "charge_already_refunded",
      });
    }
    const amount = amountAsked ?? remaining;
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${money(amount)}) is greater than unrefunded amount on charge (${
          money(remaining)
        })`,
        { param: "amount" },
      );
    }
    const card = findTestCard(charge.payment_method ?? "");
    const failureReason = refundFailures() ? card?.refundFailureReason : undefined;
    const pending = card?.pendingRefundFailureReason !== undefined;
    const refund: Stripe.Refund = {
      id: newId("re_"),
      object: "refund",
      amount,
      balance_transaction: newId("txn_"),
      charge: charge.id,
      created: created(),
      currency: charge.currency,
      customer: null,
      customer_account: null,
      metadata,
      payment_intent: charge.payment_intent,
      payment_method: charge.payment_method,
      reason: (reason ?? null) as Stripe.Refund.Reason | null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: pending ? "pending" : failureReason === undefined ? "succeeded" : "failed",
      transfer_reversal: null,
    };
    if (pending) {
      // Like Stripe, a pending refund holds its amount on the charge until it fails.
      refund.pending_reason = "processing";
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      settlements.push({
        kind: "refund",
        dueMs: now().getTime() + asyncDelayMs(),
        refundId: refund.id,
        failureReason: refundFailures() ? card?.pendingRefundFailureReason : undefined,
      });
    } else if (failureReason !== undefined) {
      refund.failure_reason = failureReason;
      refund.failure_balance_transaction = newId("txn_");
    } else {
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount;
    }
    refunds.set(refund.id, refund);
    return ok(refund, expand);
  }

  function refundableCharge(
    intentId: string | undefined,
    chargeId: string | undefined,
  ): Stripe.Charge {
    if (intentId === undefined && chargeId === undefined) {
      throw invalidRequest(
        "One of the following params should be provided for this request: payment_intent or charge.",
        { code: "parameter_missing" },
      );
    }
    let charge: Stripe.Charge | undefined;
    if (intentId !== undefined) {
      const intent = paymentIntents.get(intentId);
      if (intent === undefined) {
        throw invalidRequest(`No such payment_intent: '${intentId}'`, {
          code: "resource_missing",
          param: "payment_intent",
        });
      }
      const latest = typeof intent.latest_charge === "string" ? intent.latest_charge : undefined;
      charge = latest === undefined ? undefined : charges.get(latest);
      if (intent.status !== "succeeded" || charge === undefined) {
        throw invalidRequest(
          `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
          { param: "payment_intent" },
        );
      }
    }
    if (chargeId !== undefined) {
      const byId = charges.get(chargeId);
      if (byId === undefined) {
        throw invalidRequest(`No such charge: '${chargeId}'`, {
          code: "resource_missing",
          param: "charge",
        });
      }
      if (charge !== undefined && charge.id !== byId.id) {
        throw invalidRequest(
          `Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`,
          { param: "charge" },
        );
      }
      charge = byId;
    }
    const found = charge as Stripe.Charge;
    if (found.status !== "succeeded") {
      throw invalidRequest(`Charge ${found.id} has not succeeded and cannot be refunded.`, {
        param: "charge",
      });
    }
    return found;
  }

  function retrieve<T extends { id: string }>(
    map: Map<string, T>,
    kind: string,
    param: string,
  ): (id: string, params: FormParams) => ApiResult {
    return function retrieveOne(id, params) {
      checkKnown(params, RETRIEVE_PARAMS);
      const found = map.get(id);
      if (found === undefined) throw resourceMissing(kind, id, param);
      return ok(found, expandParam(params));
    };
  }

  function list<T extends { id: string }>(
    map: Map<string, T>,
    url: string,
  ): (params: FormParams) => ApiResult {
    return function listAll(params) {
      checkKnown(params, LIST_PARAMS);
      const limit = amountParam(params, "limit", false) ?? 10;
      if (limit > 100) {
        throw invalidRequest("This value must be less than or equal to 100.", {
          param: "limit",
          code: "parameter_invalid_integer",
        });
      }
      const newestFirst = [...map.values()].reverse();
      const after = stringParam(params, "starting_after");
      const before = stringParam(params, "ending_before");
      let window = newestFirst;
      if (after !== undefined) {
        window = newestFirst.slice(indexOrThrow(newestFirst, after, "starting_after") + 1);
      } else if (before !== undefined) {
        window = newestFirst.slice(0, indexOrThrow(newestFirst, before, "ending_before"))
          .slice(-limit);
      }
      const expand = expandParam(params).map((path) => path.replace(/^data\./, ""));
      return {
        status: 200,
        body: {
          object: "list",
          data: window.slice(0, limit).map((item) => render(item, expand)),
          has_more: window.length > limit,
          url,
        },
      };
    };
  }

  function ok(object: { id: string }, expand: string[]): ApiResult {
    return { status: 200, body: render(object, expand) };
  }

  function render(object: { id: string }, expand: string[]): unknown {
    const copy = structuredClone(object) as unknown as Record<string, unknown>;
    for (const field of expand) {
      const value = copy[field];
      if (!Object.hasOwn(copy, field) || field === "id" || field === "object") {
        throw invalidRequest(`This property cannot be expanded (${field}).`, { param: "expand" });
      }
      if (typeof value !== "string") continue;
      const target = paymentIntents.get(value) ?? charges.get(value) ?? refunds.get(value);
      if (target === undefined) {
        throw invalidRequest(`This property cannot be expanded (${field}).`, { param: "expand" });
      }
      copy[field] = structuredClone(target);
    }
    return copy;
  }

  function records(): StripeTestRecords {
    settleDue();
    return structuredClone({
      paymentIntents: [...paymentIntents.values()],
      charges: [...charges.values()],
      refunds: [...refunds.values()],
    });
  }

  function ledger(): StripeLedger {
    settleDue();
    const orders: Record<string, LedgerEntry> = {};
    const totals = { chargedCents: 0, refundedCents: 0, charges: 0, refunds: 0 };
    function entryFor(charge: Stripe.Charge): LedgerEntry | undefined {
      const intent = typeof charge.payment_intent === "string"
        ? paymentIntents.get(charge.payment_intent)
        : undefined;
      const orderId = intent?.metadata.orderId ?? charge.metadata.orderId;
      if (orderId === undefined) return undefined;
      if (!Object.hasOwn(orders, orderId)) {
        orders[orderId] = { orderId, chargedCents: 0, refundedCents: 0, charges: 0, refunds: 0 };
      }
      return orders[orderId];
    }
    for (const charge of charges.values()) {
      if (charge.status !== "succeeded") continue;
      const entry = entryFor(charge);
      for (const sum of entry === undefined ? [totals] : [totals, entry]) {
        sum.chargedCents += charge.amount;
        sum.charges += 1;
      }
    }
    for (const refund of refunds.values()) {
      if (refund.status !== "succeeded" || typeof refund.charge !== "string") continue;
      const charge = charges.get(refund.charge);
      const entry = charge === undefined ? undefined : entryFor(charge);
      for (const sum of entry === undefined ? [totals] : [totals, entry]) {
        sum.refundedCents += refund.amount;
        sum.refunds += 1;
      }
    }
    return { orders, totals };
  }

  /** An operation that first settles what is due. */
  function settling<A extends unknown[]>(
    operation: (...args: A) => ApiResult,
  ): (...args: A) => ApiResult {
    return function settledFirst(...args) {
      settleDue();
      return operation(...args);
    };
  }

  return {
    createPaymentIntent: settling(createPaymentIntent),
    confirmPaymentIntent: settling(confirmPaymentIntent),
    cancelPaymentIntent: settling(cancelPaymentIntent),
    retrievePaymentIntent: settling(retrieve(paymentIntents, "payment_intent", "intent")),
    listPaymentIntents: settling(list(paymentIntents, "/v1/payment_intents")),
    retrieveCharge: settling(retrieve(charges, "charge", "charge")),
    listCharges: settling(list(charges, "/v1/charges")),
    createRefund: settling(createRefund),
    retrieveRefund: settling(retrieve(refunds, "refund", "refund")),
    listRefunds: settling(list(refunds, "/v1/refunds")),
    records,
    ledger,
  };
}

/** Stripe's 3D Secure step: a redirect when a `return_url` was given, else the SDK's own. */
function threeDSecureAction(
  intent: Stripe.PaymentIntent,
  returnUrl: string | undefined,
): Stripe.PaymentIntent.NextAction {
  const url = `https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_stripe_test_server&` +
    `payment_intent=${intent.id}&payment_intent_client_secret=${intent.client_secret}` +
    `&publishable_key=pk_test_stripe_test_server&source=src_${randomChars(24)}`;
  if (returnUrl !== undefined) {
    return { type: "redirect_to_url", redirect_to_url: { return_url: returnUrl, url } };
  }
  return {
    type: "use_stripe_sdk",
    use_stripe_sdk: {
      type: "three_d_secure_redirect",
      stripe_js: url,
      source: `src_${randomChars(24)}`,
    },
  };
}

function requireConfirmable(
  paymentMethod: string | undefined,
  automatic: Stripe.PaymentIntent.AutomaticPaymentMethods | null,
  returnUrl: string | undefined,
): void {
  if (paymentMethod === undefined) {
    throw invalidRequest(
      "You cannot confirm this PaymentIntent because it's missing a payment method. Specify a payment_method.",
      { code: "payment_intent_unexpected_state", param: "payment_method" },
    );
  }
  if (automatic?.enabled && automatic.allow_redirects !== "never" && returnUrl === undefined) {
    throw invalidRequest(
      "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. " +
        "Because some of these payment methods might redirect your customer off of your page, " +
        "you must provide a `return_url`. If you don't want to accept redirect-based payment " +
        "methods, set `automatic_payment_methods[enabled]` to `true` and " +
        "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents " +
        "and Payment Intents.",
    );
  }
}

function automaticPaymentMethodsParam(
  automatic: FormParams | undefined,
): Stripe.PaymentIntent.AutomaticPaymentMethods {
  // Since API version 2023-08-16 automatic payment methods are on unless payment_method_types
  // is given, exactly as here.
  if (automatic === undefined) return { allow_redirects: "always", enabled: true };
  const enabled = booleanParam(automatic, "enabled", "automatic_payment_methods[enabled]");
  if (enabled === undefined) {
    throw invalidRequest("Missing required param: automatic_payment_methods[enabled].", {
      code: "parameter_missing",
      param: "automatic_payment_methods[enabled]",
    });
  }
  const redirects = stringParam(automatic, "allow_redirects", "automatic_payment_methods") ??
    "always";
  if (redirects !== "always" && redirects !== "never") {
    throw invalidRequest(`Invalid allow_redirects: must be one of always or never`, {
      param: "automatic_payment_methods[allow_redirects]",
    });
  }
  return { allow_redirects: redirects, enabled };
}

function testCard(paymentMethod: string, param: string): TestCard {
  const card = findTestCard(paymentMethod);
  if (card === undefined) {
    throw invalidRequest(`No such PaymentMethod: '${paymentMethod}'`, {
      code: "resource_missing",
      param,
    });
  }
  return card;
}

function checkKnown(params: FormParams, allowed: string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw invalidRequest(`Received unknown parameter: ${key}`, {
        code: "parameter_unknown",
        param: key,
      });
    }
  }
}

function valueOf(params: FormParams, name: string): FormValue | undefined {
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

function stringParam(params: FormParams, name: string, prefix?: string): string | undefined {
  const value = valueOf(params, name);
  if (value === undefined) return undefined;
  const param = prefix === undefined ? name : `${prefix}[${name}]`;
  if (typeof value !== "string") {
    throw invalidRequest(`Invalid string: ${JSON.stringify(value)}`, {
      code: "parameter_invalid_string",
      param,
    });
  }
  return value;
}

function amountParam(params: FormParams, name: string, required: boolean): number | undefined {
  const value = stringParam(params, name);
  if (value === undefined) {
    if (!required) return undefined;
    throw invalidRequest(`Missing required param: ${name}.`, {
      code: "parameter_missing",
      param: name,
    });
  }
  if (!/^-?\d+$/.test(value)) {
    throw invalidRequest(`Invalid integer: ${value}`, {
      code: "parameter_invalid_integer",
      param: name,
    });
  }
  const amount = Number(value);
  if (amount < 1) {
    throw invalidRequest("This value must be greater than or equal to 1.", {
      code: "parameter_invalid_integer",
      param: name,
    });
  }
  if (name === "amount" && amount > MAX_AMOUNT) {
    throw invalidRequest(`Amount must be no more than ${money(MAX_AMOUNT)}`, {
      code: "amount_too_large",
      param: name,
    });
  }
  return amount;
}

function currencyParam(params: FormParams): string {
  const value = stringParam(params, "currency");
  if (value === undefined) {
    throw invalidRequest("Missing required param: currency.", {
      code: "parameter_missing",
      param: "currency",
    });
  }
  if (!/^[a-zA-Z]{3}$/.test(value)) {
    throw invalidRequest(`Invalid currency: ${value}. Use a three-letter ISO currency code.`, {
      param: "currency",
    });
  }
  return value.toLowerCase();
}

function booleanParam(params: FormParams, name: string, param = name): boolean | undefined {
  const value = valueOf(params, name);
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw invalidRequest(`Invalid boolean: ${JSON.stringify(value)}`, {
    code: "parameter_invalid_boolean",
    param,
  });
}

function objectParam(params: FormParams, name: string): FormParams | undefined {
  const value = valueOf(params, name);
  if (value === undefined) return undefined;
  if (typeof value === "string" || Array.isArray(value)) {
    throw invalidRequest("Invalid object", { param: name });
  }
  return value;
}

function stringArrayParam(params: FormParams, name: string): string[] | undefined {
  const value = valueOf(params, name);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw invalidRequest("Invalid array", { param: name });
  }
  return value as string[];
}

function metadataParam(params: FormParams): Stripe.Metadata {
  const value = valueOf(params, "metadata");
  // `metadata=` (empty) is how Stripe clients unset all metadata.
  if (value === undefined || value === "") return {};
  const metadata = objectParam(params, "metadata") as FormParams;
  const out: Stripe.Metadata = {};
  for (const [key, item] of Object.entries(metadata)) {
    if (typeof item !== "string") {
      throw invalidRequest(`Invalid string: ${JSON.stringify(item)}`, {
        code: "parameter_invalid_string",
        param: `metadata[${key}]`,
      });
    }
    if (item !== "") out[key] = item;
  }
  return out;
}

function expandParam(params: FormParams): string[] {
  return stringArrayParam(params, "expand") ?? [];
}

function indexOrThrow(items: { id: string }[], id: string, param: string): number {
  const index = items.findIndex((item) => item.id === id);
  if (index === -1) {
    throw new StripeRequestError(400, {
      type: "invalid_request_error",
      code: "resource_missing",
      message: `No such object: '${id}'`,
      param,
    });
  }
  return index;
}

function money(cents: number): string {
  return `$${(cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2 })}`;
}

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomChars(length: number, alphabet = ALPHANUMERIC): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

function randomDigits(length: number): string {
  return randomChars(length, "0123456789");
}

/** A new Stripe-style object id: the prefix (`pi_`, `ch_`, `re_`, `req_`…) and 24 random chars. */
export function newId(prefix: string, length = 24): string {
  return `${prefix}${randomChars(length)}`;
}
