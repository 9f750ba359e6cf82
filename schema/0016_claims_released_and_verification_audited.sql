-- Claims that cannot hold someone else's gun for good, and a gun's verification audited whoever
-- changes it (docs/sync-rules.md, "Claimed guns"; docs/security-model.md).
-- - A serial is unique, and a claim on it (an owner's `unverified` row) could be neither withdrawn
--   nor released: anyone registering someone else's serial kept its owner from registering it,
--   even after an operator rejected the claim. An owner (or an admin in the portal) may now delete
--   a claim that is not verified and has no workshop history; the operators' `assets release`
--   deletes one with the service role. Each deleted asset gets an `asset.release` audit row.
-- - The `asset.*` rows took the transaction's perazzi_sync.audit context from any caller, and any
--   role can set a custom setting: an admin in the portal could write that an operator verified a
--   gun, on the basis of a POS record. A portal role's context is now ignored.
-- - Only a change to verified or rejected was audited. A verified gun set back to pending, or its
--   method or date changed, left no row. Any change of the three columns now has one:
--   `asset.verify`, `asset.reject`, or `asset.verification_change` with the values before.

-- 1. The caller as the audit rows name it: the role set for the transaction (the portal's API sets
-- `authenticated` or `anon`), otherwise the login. A security definer function runs as its owner,
-- so current_user cannot tell.
create function perazzi_sync.audit_caller() returns text
  language sql stable
  set search_path = ''
  as $$ select coalesce(nullif(current_setting('role'), 'none'), session_user) $$;
revoke all on function perazzi_sync.audit_caller() from public;

-- The transaction's audit context, except for a portal role, whose context is its own invention.
create function perazzi_sync.audit_context_of(caller text) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select case when caller in ('authenticated', 'anon') then '{}'::jsonb
                else coalesce(nullif(current_setting('perazzi_sync.audit', true), ''), '{}')::jsonb end
  $$;
revoke all on function perazzi_sync.audit_context_of(text) from public;

-- 2. As in 0013, for every change of verification_status, verification_method or verified_at.
create or replace function perazzi_sync.audit_asset_decisions() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  caller text := perazzi_sync.audit_caller();
  context jsonb := perazzi_sync.audit_context_of(caller);
  shared jsonb := context - 'keys' - 'action';
  per_key jsonb := coalesce(context -> 'keys', '{}');
  actor text := case when context ? 'operator' then 'operator' else caller end;
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id, metadata)
  select auth.uid(), actor, d.action, 'perazzi_asset', n.id::text,
         shared
         || coalesce(per_key -> c.pos_source_record_id, '{}')
         || jsonb_build_object(
              'serial_number', n.serial_number,
              'owner_user_id', n.owner_user_id,
              'verification_method', n.verification_method,
              'verified_at', n.verified_at,
              'previous_status', o.verification_status)
         || case when d.action = 'asset.verification_change' then jsonb_build_object(
              'verification_status', n.verification_status,
              'previous_verification_method', o.verification_method,
              'previous_verified_at', o.verified_at) else '{}' end
         || coalesce(jsonb_strip_nulls(jsonb_build_object(
              'basis', c.basis,
              'pos_source_record_id', c.pos_source_record_id,
              'pos_version', c.pos_version,
              'review_reason', c.reason,
              'reason', c.note)), '{}')
         || case when context ? 'operator' then jsonb_build_object('db_session_user', session_user) else '{}' end
  from new_rows n
  join old_rows o on o.id = n.id
  cross join lateral (
    select case
             when n.verification_status = 'verified' and o.verification_status is distinct from 'verified' then 'asset.verify'
             when n.verification_status = 'rejected' and o.verification_status is distinct from 'rejected' then 'asset.reject'
             else 'asset.verification_change'
           end as action) d
  left join perazzi_sync.asset_claims c on c.asset_id = n.id and c.status = n.verification_status and c.decided_at = now()
  where (n.verification_status, n.verification_method, n.verified_at)
        is distinct from (o.verification_status, o.verification_method, o.verified_at);
  return null;
end
$$;

-- 3. asset.release for every asset deleted, whoever deletes it (an owner withdrawing a claim, an
-- operator's `assets release`, GoTrue deleting a user): what it was, and the operator's reason
-- from the context of the Cli's verb.
create function perazzi_sync.audit_asset_releases() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  caller text := perazzi_sync.audit_caller();
  context jsonb := perazzi_sync.audit_context_of(caller);
  actor text := case when context ? 'operator' then 'operator' else caller end;
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id, metadata)
  select auth.uid(), actor, 'asset.release', 'perazzi_asset', o.id::text,
         (context - 'keys' - 'action')
         || jsonb_build_object(
              'serial_number', o.serial_number,
              'owner_user_id', o.owner_user_id,
              'previous_status', o.verification_status,
              'verification_method', o.verification_method)
         || case when context ? 'operator' then jsonb_build_object('db_session_user', session_user) else '{}' end
  from old_rows o;
  return null;
end
$$;
revoke all on function perazzi_sync.audit_asset_releases() from public;

create trigger perazzi_assets_audit_releases after delete on perazzi_assets
  referencing old table as old_rows
  for each statement execute function perazzi_sync.audit_asset_releases();

-- 4. Who may delete a claim: its owner or an admin in the portal, the service role for the
-- operators' verb. Never a verified gun, never one with workshop history (deleting the asset would
-- delete its service events).
grant delete on perazzi_assets to authenticated, service_role;
create policy perazzi_assets_delete on perazzi_assets for delete to authenticated
  using ((owner_user_id = auth.uid() or is_admin())
         and verification_status <> 'verified'
         and not exists (select from service_events e where e.asset_id = perazzi_assets.id));
