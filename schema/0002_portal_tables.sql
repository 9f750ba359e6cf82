-- The tables of seed-data-model.md with the foreign keys their columns imply, plus what the
-- sync needs: source modification times (a snapshot older than the stored one is never
-- applied) and the BigCommerce order-line id as the upsert key of order items.
-- Rows owned by a portal user go when the user is deleted; audit rows stay.

create table profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  display_name text,
  role text not null default 'owner',
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create index profiles_role_idx on profiles (role);

create table perazzi_assets (
  id uuid primary key default gen_random_uuid(),
  owner_user_id uuid not null references auth.users (id) on delete cascade,
  serial_number text not null constraint perazzi_assets_serial_unique unique,
  model text,
  platform text,
  verification_status text not null default 'unverified',
  verification_method text,
  verified_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create index perazzi_assets_owner_idx on perazzi_assets (owner_user_id);

create table service_events (
  id uuid primary key default gen_random_uuid(),
  asset_id uuid not null references perazzi_assets (id) on delete cascade,
  owner_user_id uuid not null references auth.users (id) on delete cascade,
  source_system text not null,
  source_record_id text not null,
  service_date timestamptz,
  status text,
  work_summary text,
  attachments jsonb,
  raw_payload jsonb,
  source_modified_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  constraint service_events_source_unique unique (source_system, source_record_id)
);
create index service_events_asset_idx on service_events (asset_id);
create index service_events_owner_idx on service_events (owner_user_id);

create table assistant_conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  title text,
  status text,
  last_message_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create index assistant_conversations_user_idx on assistant_conversations (user_id);
create index assistant_conversations_last_msg_idx on assistant_conversations (last_message_at);

create table assistant_messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references assistant_conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text,
  content text,
  citations jsonb,
  model text,
  response_id text,
  metadata jsonb,
  created_at timestamptz default now()
);
create index assistant_messages_conversation_idx on assistant_messages (conversation_id);
create index assistant_messages_user_idx on assistant_messages (user_id);

create table commerce_customers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  bigcommerce_customer_id text not null constraint commerce_customers_bc_unique unique,
  email text,
  link_status text,
  source_modified_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create index commerce_customers_user_idx on commerce_customers (user_id);

create table commerce_orders (
  id uuid primary key default gen_random_uuid(),
  commerce_customer_id uuid not null references commerce_customers (id) on delete cascade,
  bigcommerce_order_id text not null constraint commerce_orders_bc_unique unique,
  order_number text,
  status text,
  total_amount numeric,
  currency text,
  placed_at timestamptz,
  raw_payload jsonb,
  source_modified_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create index commerce_orders_customer_idx on commerce_orders (commerce_customer_id);
create index commerce_orders_placed_idx on commerce_orders (placed_at);

create table commerce_order_items (
  id uuid primary key default gen_random_uuid(),
  commerce_order_id uuid not null references commerce_orders (id) on delete cascade,
  bigcommerce_line_id text not null,
  sku text,
  product_id text,
  name text,
  quantity integer,
  price numeric,
  raw_payload jsonb,
  constraint commerce_order_items_line_unique unique (commerce_order_id, bigcommerce_line_id)
);
create index commerce_order_items_order_idx on commerce_order_items (commerce_order_id);

create table audit_log (
  id uuid primary key default gen_random_uuid(),
  actor_user_id uuid references auth.users (id) on delete set null,
  actor_role text,
  action text,
  object_type text,
  object_id text,
  ip text,
  user_agent text,
  metadata jsonb,
  created_at timestamptz default now()
);
create index audit_log_actor_idx on audit_log (actor_user_id);
create index audit_log_object_idx on audit_log (object_type, object_id);
create index audit_log_created_idx on audit_log (created_at);
