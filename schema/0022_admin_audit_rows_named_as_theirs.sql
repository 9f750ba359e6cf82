-- An admin's own audit rows are named as theirs: `admin.` and a name of their choosing
-- (docs/security-model.md). 0008 kept who and when out of an admin's hands, but the action was
-- theirs to write, so a row saying `asset.verify` (with a POS record as its basis in the metadata),
-- `asset.release` or `support.conversation.access` could come from the portal, told apart from the
-- database's own rows only by the actor, and require_support_access (0017) counts such a row as an
-- access request. The names the database and the product write never begin with `admin.`.
alter policy audit_log_insert on audit_log
  with check (is_admin() and actor_user_id = auth.uid() and action like 'admin.%');
