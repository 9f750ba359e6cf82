-- An owner writes only their own words into a conversation (docs/security-model.md). The insert
-- policy of 0004 checked whose conversation it was, not whose words: an owner could insert a message
-- with role `assistant` or `system`, which support staff later read (support_read_conversation) as
-- the assistant's answer or its instructions. The assistant's and the system's messages are written
-- by the portal's server, which calls the model with the service role's key; owners write `user`.
alter policy assistant_messages_insert on assistant_messages
  with check (
    role = 'user'
    and user_id = auth.uid()
    and exists (
      select 1 from assistant_conversations c
      where c.id = conversation_id and c.user_id = auth.uid()
    )
  );
