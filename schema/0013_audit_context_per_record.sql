-- asset.verify and asset.reject as in 0011, with the entry of the audit context's "keys" (more per
-- source key: a line of an export, the message of a POS callback written in a group with others)
-- for the POS record the decision rests on: a claim verified by a callback written in one
-- transaction with other callbacks names that callback's message, delivery and trace, as the
-- callback's own service_events audit row does; one verified by an import names the record's line.
create or replace function perazzi_sync.audit_asset_decisions() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  context jsonb := coalesce(nullif(current_setting('perazzi_sync.audit', true), ''), '{}')::jsonb;
  shared jsonb := context - 'keys' - 'action';
  per_key jsonb := coalesce(context -> 'keys', '{}');
  actor text := case when context ? 'operator' then 'operator'
                     when current_setting('role') <> 'none' then current_setting('role')
                     else session_user end;
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id, metadata)
  select auth.uid(), actor,
         case n.verification_status when 'verified' then 'asset.verify' else 'asset.reject' end,
         'perazzi_asset', n.id::text,
         shared
         || coalesce(per_key -> c.pos_source_record_id, '{}')
         || jsonb_build_object(
              'serial_number', n.serial_number,
              'owner_user_id', n.owner_user_id,
              'verification_method', n.verification_method,
              'verified_at', n.verified_at,
              'previous_status', o.verification_status)
         || coalesce(jsonb_strip_nulls(jsonb_build_object(
              'basis', c.basis,
              'pos_source_record_id', c.pos_source_record_id,
              'pos_version', c.pos_version,
              'review_reason', c.reason,
              'reason', c.note)), '{}')
         || case when context ? 'operator' then jsonb_build_object('db_session_user', session_user) else '{}' end
  from new_rows n
  join old_rows o on o.id = n.id
  left join perazzi_sync.asset_claims c on c.asset_id = n.id and c.status = n.verification_status and c.decided_at = now()
  where n.verification_status in ('verified', 'rejected')
    and n.verification_status is distinct from o.verification_status;
  return null;
end
$$;
revoke all on function perazzi_sync.audit_asset_decisions() from public;
