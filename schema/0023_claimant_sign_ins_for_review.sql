-- What the operator's review (`perazzisync assets review`) can trust about a claimant: the e-mail
-- they sign in with and whether GoTrue has confirmed it, beside the customer e-mails of the serial's
-- POS records (docs/security-model.md). The review showed the profile's display_name, which the
-- claimant writes themselves: named as the workshop's customer, a claim looked like the customer's
-- own. Built as 0008's lookup is, so that the product reads auth.users only through functions owned
-- by the migrating role; executable by that role (the Cli's login) alone: no API role, not even the
-- service role, which has no use for an address.
create function perazzi_sync.claimant_sign_ins(claimants uuid[])
  returns table (claimant uuid, email text, confirmed boolean)
  language sql stable security definer
  set search_path = ''
  as $$
    select u.id, u.email::text, u.email_confirmed_at is not null
    from auth.users u
    where u.id = any(claimants)
  $$;
revoke all on function perazzi_sync.claimant_sign_ins(uuid[]) from public;
