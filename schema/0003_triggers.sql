-- updated_at is the time of the last change, whoever made it.
create function set_updated_at() returns trigger
  language plpgsql
  as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger profiles_set_updated_at before update on profiles
  for each row execute function set_updated_at();
create trigger perazzi_assets_set_updated_at before update on perazzi_assets
  for each row execute function set_updated_at();
create trigger service_events_set_updated_at before update on service_events
  for each row execute function set_updated_at();
create trigger assistant_conversations_set_updated_at before update on assistant_conversations
  for each row execute function set_updated_at();
create trigger commerce_customers_set_updated_at before update on commerce_customers
  for each row execute function set_updated_at();
create trigger commerce_orders_set_updated_at before update on commerce_orders
  for each row execute function set_updated_at();

-- The workshop matches serials after trimming and upper-casing; storing them that way keeps
-- " mx8-123456" and "MX8-123456" from becoming two assets.
create function normalize_serial_number() returns trigger
  language plpgsql
  as $$
begin
  new.serial_number := upper(btrim(new.serial_number));
  return new;
end
$$;

create trigger perazzi_assets_normalize_serial before insert or update of serial_number on perazzi_assets
  for each row execute function normalize_serial_number();
