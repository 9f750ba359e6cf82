-- A gun's workshop history is shown to its owner only while the gun is verified
-- (docs/security-model.md). Until now the service events stayed readable whatever happened to the
-- verification afterwards: an admin rejecting a gun (it was not the claimant's after all) or
-- setting it back to pending left the claimant reading the gun's history, though a claim that is
-- not verified is meant to see none of it.

-- 1. Whether a gun has workshop history, whoever may read it. The delete policy of 0016 asked
-- service_events under the deleting user's own policies; now that an owner no longer sees the
-- history of a gun that is not verified, that question would answer "none" and let the owner delete
-- the gun with its history. It answers only for a gun the caller may see (its owner, an admin), and
-- null for any other.
create function asset_has_workshop_history(asset uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (select from public.service_events e where e.asset_id = a.id)
    from public.perazzi_assets a
    where a.id = asset and (a.owner_user_id = auth.uid() or public.is_admin())
  $$;
revoke all on function asset_has_workshop_history(uuid) from public, anon, service_role;
grant execute on function asset_has_workshop_history(uuid) to authenticated;

alter policy perazzi_assets_delete on perazzi_assets
  using ((owner_user_id = auth.uid() or is_admin())
         and verification_status <> 'verified'
         and not asset_has_workshop_history(id));

-- 2. An owner reads the service events of their own verified guns; admins read all.
alter policy service_events_select on service_events
  using (is_admin()
         or (owner_user_id = auth.uid()
             and exists (select from perazzi_assets a
                         where a.id = asset_id and a.owner_user_id = auth.uid() and a.verification_status = 'verified')));
