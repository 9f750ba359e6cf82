-- One mechanism decides what changed in a synced row and writes its audit row, whichever writer
-- changed it (docs/sync-rules.md): a worker, an import, the Cli, or someone with a SQL prompt.
-- Writers no longer list the columns to compare, so a new column cannot be forgotten in one of
-- them. They only tell the database, for their transaction, what to say about the change: the
-- setting perazzi_sync.audit holds a JSON object (source system, message and delivery ids, trace
-- id, …), optionally with "keys" (more per source key, e.g. the line of an export) and "action"
-- (instead of the table's own, e.g. commerce.order.archive).

-- An update that changes nothing is skipped before anything else sees it: no new row version,
-- no updated_at, no audit row. The comparison is by value, as the audit's changed fields are:
-- PostgreSQL's own suppress_redundant_updates_trigger compares bytes, and a stored jsonb that was
-- compressed never equals the same value on its way in. These triggers sort before
-- *_set_updated_at, which would otherwise make every update a change.
create function perazzi_sync.skip_unchanged() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if new is not distinct from old then
    return null;
  end if;
  return new;
end
$$;
revoke all on function perazzi_sync.skip_unchanged() from public;

create trigger service_events_0_skip_unchanged before update on service_events
  for each row execute function perazzi_sync.skip_unchanged();
create trigger commerce_customers_0_skip_unchanged before update on commerce_customers
  for each row execute function perazzi_sync.skip_unchanged();
create trigger commerce_orders_0_skip_unchanged before update on commerce_orders
  for each row execute function perazzi_sync.skip_unchanged();
create trigger commerce_order_items_0_skip_unchanged before update on commerce_order_items
  for each row execute function perazzi_sync.skip_unchanged();

-- What an audit row of the synced row r says: the transaction's context, what its "keys" add for
-- the row's source key, the source key, the item column, the operation, the changed fields (all
-- but id and the row's own timestamps; against previous, the row before an update, or null for an
-- insert) and, where the row has one, the version written and the one it replaced.
create function perazzi_sync.audit_metadata(
  context jsonb, r jsonb, previous jsonb, key_column text, key_prefix text, item_column text) returns jsonb
  language sql immutable
  set search_path = ''
  as $$
    select (context - 'keys' - 'action')
      || coalesce(context -> 'keys' -> (r ->> key_column), '{}')
      || case when key_column <> '' then jsonb_build_object('source_key', key_prefix || (r ->> key_column)) else '{}' end
      || case when item_column <> '' then jsonb_build_object(item_column, r -> item_column) else '{}' end
      || jsonb_build_object(
           'operation', case when previous is null then 'insert' else 'update' end,
           'changed_fields', (
             select coalesce(jsonb_agg(f.key order by f.key), '[]')
             from jsonb_each(r) f
             where f.key not in ('id', 'created_at', 'updated_at')
               and case when previous is null then f.value <> 'null' else f.value is distinct from previous -> f.key end))
      || case when r ? 'source_modified_at'
              then jsonb_build_object('version', r -> 'source_modified_at', 'previous_version', coalesce(previous -> 'source_modified_at', 'null'))
              else '{}' end
  $$;

-- The audit rows of one statement's changes to a synced table, set-based from its transition
-- tables. It runs as its owner, since the role that changes a row need not be one that may write
-- the audit log (GoTrue deleting a user cascades into the portal's tables), and names as the actor
-- the role the writer switched to (service_role) or else the login. Arguments: the object type; the action's prefix (.upsert or .delete is appended); the
-- column that names the row's source key and the key's prefix ('' for none: the transaction's
-- source_key stands); a column to name in every row's metadata ('' for none).
create function perazzi_sync.audit_changes() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  actor text := case when current_setting('role') <> 'none' then current_setting('role') else session_user end;
  context jsonb := coalesce(nullif(current_setting('perazzi_sync.audit', true), ''), '{}')::jsonb;
  audited_action text := coalesce(context ->> 'action', tg_argv[1] || case tg_op when 'DELETE' then '.delete' else '.upsert' end);
begin
  if tg_op = 'INSERT' then
    insert into public.audit_log (actor_role, action, object_type, object_id, metadata)
    select actor, audited_action, tg_argv[0], n.r ->> 'id',
           perazzi_sync.audit_metadata(context, n.r, null, tg_argv[2], tg_argv[3], tg_argv[4])
    from (select to_jsonb(i) as r from new_rows i) n;
  elsif tg_op = 'UPDATE' then
    insert into public.audit_log (actor_role, action, object_type, object_id, metadata)
    select actor, audited_action, tg_argv[0], n.r ->> 'id',
           perazzi_sync.audit_metadata(context, n.r, o.r, tg_argv[2], tg_argv[3], tg_argv[4])
    from (select to_jsonb(u) as r from new_rows u) n
    join (select to_jsonb(u) as r from old_rows u) o on o.r -> 'id' = n.r -> 'id';
  else
    insert into public.audit_log (actor_role, action, object_type, object_id, metadata)
    select actor, audited_action, tg_argv[0], o.r ->> 'id',
           (context - 'keys' - 'action')
           || case when tg_argv[2] <> '' then jsonb_build_object('source_key', tg_argv[3] || (o.r ->> tg_argv[2])) else '{}' end
           || case when tg_argv[4] <> '' then jsonb_build_object(tg_argv[4], o.r -> tg_argv[4]) else '{}' end
           || jsonb_build_object('operation', 'delete')
    from (select to_jsonb(d) as r from old_rows d) o;
  end if;
  return null;
end
$$;
revoke all on function perazzi_sync.audit_changes() from public;
revoke all on function perazzi_sync.audit_metadata(jsonb, jsonb, jsonb, text, text, text) from public;

-- Transition tables are per event, so each table has a trigger per event.
create trigger service_events_audit_insert after insert on service_events referencing new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('service_event', 'service_event', 'source_record_id', '', '');
create trigger service_events_audit_update after update on service_events referencing old table as old_rows new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('service_event', 'service_event', 'source_record_id', '', '');
create trigger service_events_audit_delete after delete on service_events referencing old table as old_rows
  for each statement execute function perazzi_sync.audit_changes('service_event', 'service_event', 'source_record_id', '', '');

create trigger commerce_customers_audit_insert after insert on commerce_customers referencing new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_customer', 'commerce.customer', 'bigcommerce_customer_id', 'customer:', '');
create trigger commerce_customers_audit_update after update on commerce_customers referencing old table as old_rows new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_customer', 'commerce.customer', 'bigcommerce_customer_id', 'customer:', '');
create trigger commerce_customers_audit_delete after delete on commerce_customers referencing old table as old_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_customer', 'commerce.customer', 'bigcommerce_customer_id', 'customer:', '');

create trigger commerce_orders_audit_insert after insert on commerce_orders referencing new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_order', 'commerce.order', 'bigcommerce_order_id', 'order:', '');
create trigger commerce_orders_audit_update after update on commerce_orders referencing old table as old_rows new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_order', 'commerce.order', 'bigcommerce_order_id', 'order:', '');
create trigger commerce_orders_audit_delete after delete on commerce_orders referencing old table as old_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_order', 'commerce.order', 'bigcommerce_order_id', 'order:', '');

create trigger commerce_order_items_audit_insert after insert on commerce_order_items referencing new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_order_item', 'commerce.order_item', '', '', 'bigcommerce_line_id');
create trigger commerce_order_items_audit_update after update on commerce_order_items referencing old table as old_rows new table as new_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_order_item', 'commerce.order_item', '', '', 'bigcommerce_line_id');
create trigger commerce_order_items_audit_delete after delete on commerce_order_items referencing old table as old_rows
  for each statement execute function perazzi_sync.audit_changes('commerce_order_item', 'commerce.order_item', '', '', 'bigcommerce_line_id');

-- Parking, once for every source. A parked event carries the version of what it holds (null for
-- BigCommerce, whose parked messages are re-fetched), ordered as stored rows are: a newer one
-- replaces an older one, never the reverse.
alter table perazzi_sync.parked_events add column source_version timestamptz, add column digest text;
update perazzi_sync.parked_events
set source_version = (message ->> 'UpdatedAt')::timestamptz, digest = md5(message ->> 'RawPayload')
where source_system = 'perazzi_pos';

-- Parks (or parks again, one attempt more) a valid event that cannot be attributed yet; true
-- when it is now parked with this content.
create function perazzi_sync.park(
  source_system text, source_key text, reason text, message_type text, message jsonb, message_id text,
  source_version timestamptz, digest text) returns boolean
  language sql
  set search_path = ''
  as $$
    with parked as (
      insert into perazzi_sync.parked_events as p
        (source_system, source_key, reason, message_type, message, message_id, source_version, digest)
      values ($1, $2, $3, $4, $5, $6, $7, $8)
      on conflict on constraint parked_events_source_unique do update set
        reason = excluded.reason,
        message_type = excluded.message_type,
        message = excluded.message,
        message_id = excluded.message_id,
        source_version = excluded.source_version,
        digest = excluded.digest,
        attempts = p.attempts + 1,
        last_seen_at = now(),
        resolved_at = null
      where (coalesce(p.source_version, '-infinity'), coalesce(p.digest, ''))
            <= (coalesce(excluded.source_version, '-infinity'), coalesce(excluded.digest, ''))
      returning 1
    )
    select exists (select from parked)
  $$;

-- The entity was attributed after all: its parked event is done, unless it holds a version newer
-- than the one now stored (given; null: whatever it holds).
create function perazzi_sync.resolve_parked(source_system text, source_key text, stored_version timestamptz, stored_digest text)
  returns boolean
  language sql
  set search_path = ''
  as $$
    with resolved as (
      update perazzi_sync.parked_events p set resolved_at = now(), last_seen_at = now()
      where p.source_system = $1 and p.source_key = $2 and p.resolved_at is null
        and ($3 is null or (coalesce(p.source_version, '-infinity'), coalesce(p.digest, '')) <= ($3, coalesce($4, '')))
      returning 1
    )
    select exists (select from resolved)
  $$;

revoke all on function perazzi_sync.park(text, text, text, text, jsonb, text, timestamptz, text) from public;
revoke all on function perazzi_sync.resolve_parked(text, text, timestamptz, text) from public;
grant execute on function perazzi_sync.park(text, text, text, text, jsonb, text, timestamptz, text) to service_role;
grant execute on function perazzi_sync.resolve_parked(text, text, timestamptz, text) to service_role;
