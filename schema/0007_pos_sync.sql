-- What the POS sync needs beyond the seed: the bookkeeping of batch imports, in perazzi_sync.

-- One row per export file, keyed by its content: importing the same bytes again is a no-op,
-- and an import cut short resumes after the last line it committed.
create table perazzi_sync.pos_imports (
  id uuid primary key default gen_random_uuid(),
  content_hash text not null constraint pos_imports_content_unique unique,
  file_name text not null,
  format text not null check (format in ('csv', 'ndjson')),
  status text not null default 'running' check (status in ('running', 'completed', 'failed')),
  next_line bigint not null default 1,
  rows_read bigint not null default 0,
  applied bigint not null default 0,
  superseded bigint not null default 0,
  unchanged bigint not null default 0,
  stale bigint not null default 0,
  parked bigint not null default 0,
  rejected bigint not null default 0,
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
grant select, insert, update on perazzi_sync.pos_imports to service_role;

-- Rows of an export that could not be used, with their line and why.
create table perazzi_sync.pos_import_rejections (
  import_id uuid not null references perazzi_sync.pos_imports (id) on delete cascade,
  line bigint not null,
  source_record_id text,
  reason text not null,
  primary key (import_id, line)
);
grant select, insert on perazzi_sync.pos_import_rejections to service_role;

-- The re-match looks parked POS records up by serial.
create index parked_events_pos_serial_idx on perazzi_sync.parked_events ((upper(btrim(message->>'SerialNumber'))))
  where source_system = 'perazzi_pos' and resolved_at is null;
