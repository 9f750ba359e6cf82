-- A rejected claim is no longer its claimant's to delete (docs/security-model.md). Deleting it and
-- registering the serial again made a new claim out of a decided one: the operator's rejection and
-- its review item (with the reason) went with the deleted asset, and the new claim was weighed as
-- if nothing had been decided, by the re-match and by every later POS record of the serial, which
-- never touch a rejected asset. A rejection now holds the serial until an operator releases it
-- (`assets release`) or an admin deletes the claim in the portal. The claimant still withdraws a
-- claim that awaits verification (`unverified` or `pending`).
alter policy perazzi_assets_delete on perazzi_assets
  using (((owner_user_id = auth.uid() and verification_status in ('unverified', 'pending'))
          or (is_admin() and verification_status <> 'verified'))
         and not asset_has_workshop_history(id));
