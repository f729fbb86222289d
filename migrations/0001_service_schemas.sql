-- One schema per service (DESIGN §6), each with the two tables every service needs to keep the
-- guarantees of DESIGN §5: an outbox (written in the same transaction as the state change,
-- published to Kafka by a relay) and the idempotency keys of the messages already handled.
do $$
declare
  service text;
begin
  foreach service in array array['orchestrator', 'inventory', 'payment', 'notification'] loop
    execute format('create schema if not exists %I', service);

    execute format($sql$
      create table %I.outbox (
        id           bigserial primary key,
        topic        text        not null,
        key          text,
        value        text,
        headers      jsonb       not null default '{}',
        created_at   timestamptz not null default now(),
        published_at timestamptz
      )$sql$, service);
    execute format(
      'create index outbox_unpublished on %I.outbox (id) where published_at is null', service);

    execute format($sql$
      create table %I.processed_messages (
        event_id     uuid primary key,
        event_type   text        not null,
        -- sha-256 of event type and body: the same id with another body is refused
        fingerprint  text        not null,
        processed_at timestamptz not null default now()
      )$sql$, service);
  end loop;
end
$$;
