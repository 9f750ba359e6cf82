-- How many times an import of the file has started since it last made progress (a chunk
-- committed). Counted when the import starts, so a process that dies on the file counts too;
-- the drop folder gives a file up after a bounded number of them.
alter table perazzi_sync.pos_imports add column attempts integer not null default 0;
