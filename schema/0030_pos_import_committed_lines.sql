-- An import writes two chunks of its file at once (README, "POS import"), so a later chunk may
-- commit before an earlier one. Each chunk adds the lines it covers to committed_lines in its own
-- transaction; an import cut short resumes with the lines no committed chunk covers, neither
-- writing nor counting a line twice. next_line stays the first line not committed, every line
-- before it covered; imports begun before this column read as before.
alter table perazzi_sync.pos_imports add column committed_lines int8multirange not null default '{}';
