-- One bad row blocks nothing (DESIGN §5): an outbox row the broker refuses for good (too large,
-- invalid) is set aside with the reason, and the relay's scan goes on with the rows behind it.
-- A set-aside row keeps its record (the refused value stays here for an operator) and is never
-- published; the scan's partial index holds only the rows still to publish.
do $$
declare
  service text;
begin
  foreach service in array array['orchestrator', 'inventory', 'payment', 'notification'] loop
    execute format($sql$
      alter table %I.outbox
        add column set_aside_at     timestamptz,
        add column set_aside_reason text,
        add constraint outbox_set_aside_has_reason
          check ((set_aside_at is null) = (set_aside_reason is null))
      $sql$, service);
    execute format('drop index %I.outbox_unpublished', service);
    execute format($sql$
      create index outbox_unpublished on %I.outbox (id)
      where published_at is null and set_aside_at is null$sql$, service);
    execute format(
      'create index outbox_set_aside on %I.outbox (id) where set_aside_at is not null', service);
  end loop;
end
$$;
