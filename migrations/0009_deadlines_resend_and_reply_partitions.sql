-- Step deadlines that send the command again before they give up, and that count only while
-- some orchestrator replica reads the reply's partition (DESIGN §4).

-- When the pending command was first sent (its give-up horizon counts from there) and how many
-- times it has been sent. Commands pending before this migration count from their last save.
alter table orchestrator.sagas
  add column pending_first_sent_at timestamptz,
  add column pending_attempt       int check (pending_attempt >= 1),
  -- The order id's murmur2 hash, made positive, as Kafka's default partitioner takes it: the
  -- saga's records are on partition key_hash % (the topic's partition count) of every topic.
  -- Null for sagas started before this migration: their deadlines count as they always did.
  add column key_hash              int check (key_hash >= 0);
update orchestrator.sagas set pending_first_sent_at = updated_at, pending_attempt = 1
  where pending_step is not null;

-- The reply partitions some replica reads: each replica refreshes the ones it is assigned and
-- fetching, about every second. A deadline passes only once its reply's partition was read
-- after it; a partition that nobody read for a while holds its deadlines, and whoever reads it
-- again pushes them on by the time nobody did.
create table orchestrator.reply_partitions (
  topic     text        not null,
  partition int         not null check (partition >= 0),
  -- When the replica that reads it last completed a fetch.
  read_at   timestamptz not null,
  -- That replica: host and process id.
  read_by   text        not null,
  primary key (topic, partition)
);
