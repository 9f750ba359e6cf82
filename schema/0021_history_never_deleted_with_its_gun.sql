-- A gun is never deleted with its workshop history (docs/security-model.md). The delete policy
-- (0019) keeps a gun with history from its claimant and from admins, but it is evaluated before the
-- row is locked: an owner's delete of a gun an admin had just set back to a claim saw no history,
-- waited for the lock of a POS write attaching a service event to the gun, and went through
-- without asking again, its cascade deleting the event that had meanwhile committed. The key no
-- longer cascades: it is checked when the deleting statement ends, so a gun that still has service
-- events is refused whoever deletes it and however the rows were seen. GoTrue deleting a user still
-- removes the user's guns with their events, since the events go in the same statement (their
-- owner's key cascades).
alter table service_events
  drop constraint service_events_asset_id_fkey,
  add constraint service_events_asset_id_fkey foreign key (asset_id) references perazzi_assets (id);
