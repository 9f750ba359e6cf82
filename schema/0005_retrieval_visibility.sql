-- The portal's retrieval tables (documents, chunks, embeddings) may already exist (created by
-- its ingest scripts) or not (a fresh database). Either way they get the seed's adjustments:
-- an optional owner, a public/private visibility enforced by RLS, and a vector index where
-- the pgvector extension is available.

do $$
declare
  vector_schema text;
begin
  if not exists (select from pg_extension where extname = 'vector')
     and exists (select from pg_available_extensions where name = 'vector') then
    if exists (select from pg_namespace where nspname = 'extensions') then
      create extension vector with schema extensions;
    else
      create extension vector;
    end if;
  end if;
  select n.nspname into vector_schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'vector';

  create table if not exists documents (
    id uuid primary key default gen_random_uuid(),
    title text,
    source text,
    created_at timestamptz default now()
  );
  create table if not exists chunks (
    id uuid primary key default gen_random_uuid(),
    document_id uuid references documents (id) on delete cascade,
    content text,
    created_at timestamptz default now()
  );
  if to_regclass('embeddings') is null then
    if vector_schema is null then
      create table embeddings (
        id uuid primary key default gen_random_uuid(),
        chunk_id uuid references chunks (id) on delete cascade,
        embedding real[],
        created_at timestamptz default now()
      );
    else
      execute format($t$
        create table embeddings (
          id uuid primary key default gen_random_uuid(),
          chunk_id uuid references chunks (id) on delete cascade,
          embedding %I.vector(1536),
          created_at timestamptz default now()
        )$t$, vector_schema);
    end if;
  end if;

  if exists (
    select from pg_attribute a join pg_type t on t.oid = a.atttypid
    where a.attrelid = 'embeddings'::regclass and a.attname = 'embedding' and t.typname = 'vector'
  ) then
    begin
      execute format('create index if not exists embeddings_embedding_hnsw on embeddings using hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    exception when undefined_object then
      -- pgvector before 0.5 has no hnsw.
      execute format('create index if not exists embeddings_embedding_ivfflat on embeddings using ivfflat (embedding %I.vector_cosine_ops)', vector_schema);
    end;
  else
    raise notice 'embeddings.embedding is not a pgvector column: no vector index created';
  end if;
end
$$;

alter table documents add column if not exists owner_user_id uuid references auth.users (id) on delete cascade;
alter table documents add column if not exists visibility text not null default 'public';
alter table chunks add column if not exists owner_user_id uuid references auth.users (id) on delete cascade;
alter table chunks add column if not exists visibility text not null default 'public';

-- A private row without an owner would be readable by nobody but the service role.
alter table documents add constraint documents_visibility_check
  check (visibility in ('public', 'private') and (visibility = 'public' or owner_user_id is not null));
alter table chunks add constraint chunks_visibility_check
  check (visibility in ('public', 'private') and (visibility = 'public' or owner_user_id is not null));

create index if not exists documents_owner_idx on documents (owner_user_id);
create index if not exists chunks_owner_idx on chunks (owner_user_id);

alter table documents enable row level security;
alter table chunks enable row level security;
alter table embeddings enable row level security;

revoke all on documents, chunks, embeddings from anon, authenticated, service_role;
grant select on documents, chunks, embeddings to anon, authenticated;
grant select, insert, update, delete on documents, chunks, embeddings to service_role;

-- Each table gets a permissive policy that lets the right rows through and a restrictive one
-- with the same rule: an existing database may already carry a permissive policy of its own
-- (such as "readable by everyone"), and the restrictive one keeps private rows private anyway.
create policy documents_select on documents for select to anon, authenticated
  using (visibility = 'public' or owner_user_id = auth.uid() or is_admin());
create policy documents_visibility on documents as restrictive for select to anon, authenticated
  using (visibility = 'public' or owner_user_id = auth.uid() or is_admin());
create policy chunks_select on chunks for select to anon, authenticated
  using (visibility = 'public' or owner_user_id = auth.uid() or is_admin());
create policy chunks_visibility on chunks as restrictive for select to anon, authenticated
  using (visibility = 'public' or owner_user_id = auth.uid() or is_admin());
-- An embedding is as visible as its chunk (the subquery runs under the chunks policies).
create policy embeddings_select on embeddings for select to anon, authenticated
  using (exists (select 1 from chunks c where c.id = chunk_id));
create policy embeddings_visibility on embeddings as restrictive for select to anon, authenticated
  using (exists (select 1 from chunks c where c.id = chunk_id));
