-- The saga's data, as its definition made it from its start event and folded its replies into
-- it since: the engine builds every command from it, so no saga type needs tables of its own to
-- run. Sagas started before this migration get their order and no charge (DESIGN §4's order
-- saga data), from the order tables.
alter table orchestrator.sagas add column data jsonb;
update orchestrator.sagas s set data = jsonb_build_object(
    'order', jsonb_build_object(
      'orderId', o.order_id,
      'customerId', o.customer_id,
      'customerEmail', o.customer_email,
      'currency', o.currency,
      'paymentMethod', o.payment_method,
      'items', coalesce((
        select jsonb_agg(jsonb_build_object('productId', i.product_id, 'quantity', i.quantity,
            'unitPriceCents', i.unit_price_cents) order by i.line_no)
        from orchestrator.order_items i where i.order_id = o.order_id), '[]'::jsonb)),
    'charge', null)
  from orchestrator.orders o where o.order_id = s.order_id;
alter table orchestrator.sagas alter column data set not null;
