-- Anonymous visitors read public retrieval rows without learning whom they belong to
-- (docs/security-model.md). 0005 granted anon every column of documents and chunks, so a public
-- document or chunk with an owner (a user's own upload made public) told any visitor the owner's
-- user id, and a filter on owner_user_id listed everything a given user had made public. Anon
-- needs the text and its place (ids, document, title, source, content, visibility), never the
-- owner: it now holds select on every column but owner_user_id. The tables may hold more columns
-- than 0005 creates (the portal's ingest made them first), so the columns are read from the
-- catalogue; a column the portal adds later is anon's only once granted.
do $$
declare
  retrieval text;
  readable text;
begin
  foreach retrieval in array array['documents', 'chunks'] loop
    select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into readable
    from pg_attribute a
    where a.attrelid = retrieval::regclass and a.attnum > 0 and not a.attisdropped and a.attname <> 'owner_user_id';
    execute format('revoke select on %I from anon', retrieval);
    execute format('grant select (%s) on %I to anon', readable, retrieval);
  end loop;
end
$$;
