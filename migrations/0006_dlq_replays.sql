-- Dead letters that `sagactl dlq replay` sent back to their source topic: one row per DLQ
-- record, so the same record is replayed once unless the operator insists (--force).
create table orchestrator.dlq_replays (
  dlq_topic         text        not null,
  dlq_partition     int         not null check (dlq_partition >= 0),
  dlq_offset        bigint      not null check (dlq_offset >= 0),
  source_topic      text        not null,
  record_key        text,
  -- the DLQ record's own Kafka timestamp, to tell it apart should the topic be recreated
  record_timestamp  timestamptz,
  replay_count      int         not null default 1 check (replay_count >= 1),
  first_replayed_at timestamptz not null default now(),
  last_replayed_at  timestamptz not null default now(),
  -- who replayed it last, e.g. operator:alice
  replayed_by       text        not null,
  primary key (dlq_topic, dlq_partition, dlq_offset)
);
