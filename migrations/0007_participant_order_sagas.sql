-- The saga each order belongs to, as each participant first heard of it (a participant cannot
-- read the orchestrator's sagas, DESIGN §6). One saga per order: a later command that names
-- another saga for the order (a saga that does not exist) is dead-lettered instead of undoing,
-- or redoing, what the order's real saga did.
do $$
declare
  service text;
begin
  foreach service in array array['inventory', 'payment', 'notification'] loop
    execute format($sql$
      create table %I.order_sagas (
        order_id   uuid primary key,
        saga_id    uuid        not null,
        created_at timestamptz not null default now()
      )$sql$, service);
  end loop;
end
$$;
