using System.Text.Json;
using Dapper;
using Npgsql;
using PerazziSync.Testing;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// The portal users and assets of <c>fixtures/portal/users-and-assets.json</c>, plus rows for
/// every other table that hang off Jane and Marco, so each RLS rule has something to show or hide.
/// Marco's private document has chunks that say nothing of their visibility, as an older ingest
/// leaves them.
/// </summary>
public static class PortalFixtureData
{
    public static readonly Guid Jane = PortalUsers.Jane;
    public static readonly Guid Marco = PortalUsers.Marco;
    public static readonly Guid Support = PortalUsers.Support;
    public static readonly Guid Admin = PortalUsers.Admin;

    /// <summary>Signed up, no profile yet.</summary>
    public static readonly Guid Newcomer = Guid.Parse("0e000000-0000-4000-8000-000000000006");

    public static readonly Guid JaneConversation = Guid.Parse("c0000000-0000-4000-8000-00000000000a");
    public static readonly Guid MarcoConversation = Guid.Parse("c0000000-0000-4000-8000-00000000000b");

    public static async Task SeedAsync(NpgsqlConnection connection)
    {
        await PortalUsers.SeedAsync(connection);
        await PortalUsers.SeedAssetsAsync(connection);

        await connection.ExecuteAsync(
            """
            insert into auth.users (id, email, email_confirmed_at) values (@newcomer, 'newcomer@example.com', now());

            insert into service_events (asset_id, owner_user_id, source_system, source_record_id, status, work_summary, raw_payload)
            select a.id, a.owner_user_id, 'perazzi_pos', 'WO-' || a.serial_number, 'completed', 'Annual service',
                   jsonb_build_object('technician', 'Luca')
            from perazzi_assets a where a.serial_number in ('MX8-123456', 'MX2000-77341');

            insert into commerce_customers (user_id, bigcommerce_customer_id, email, link_status)
            values (@jane, '11', 'janedoe@example.com', 'linked'),
                   (@marco, '12', 'marco.rossi@example.it', 'linked');
            insert into commerce_orders (commerce_customer_id, bigcommerce_order_id, order_number, status, total_amount, currency, raw_payload)
            select c.id, '2' || c.bigcommerce_customer_id, '2' || c.bigcommerce_customer_id, 'Shipped', 69.84, 'USD',
                   jsonb_build_object('billing_address', jsonb_build_object('email', c.email))
            from commerce_customers c;
            insert into commerce_order_items (commerce_order_id, bigcommerce_line_id, sku, name, quantity, price, raw_payload)
            select o.id, line::text, 'SKU-' || line, 'Cartridge case', 1, 34.92, '{}'::jsonb
            from commerce_orders o cross join generate_series(1, 2) line;

            insert into assistant_conversations (id, user_id, title, status)
            values (@janeConversation, @jane, 'Choke tubes', 'active'),
                   (@marcoConversation, @marco, 'Stock fitting', 'active');
            insert into assistant_messages (conversation_id, user_id, role, content)
            select c.id, c.user_id, r.role, 'about ' || c.title
            from assistant_conversations c cross join (values ('user'), ('assistant')) r(role);

            insert into audit_log (actor_role, action, object_type, object_id)
            values ('service_role', 'commerce.order.upsert', 'commerce_order', '211');

            insert into documents (title, visibility, owner_user_id)
            values ('MX8 manual', 'public', null),
                   ('Jane''s purchase receipt', 'private', @jane),
                   ('Marco''s service invoice', 'private', @marco);
            insert into chunks (document_id, content, visibility, owner_user_id)
            select d.id, 'chunk of ' || d.title, d.visibility, d.owner_user_id from documents d
            where d.owner_user_id is distinct from @marco;
            -- A private note of Jane's in the public manual.
            insert into chunks (document_id, content, visibility, owner_user_id)
            select d.id, 'Jane''s note on the manual', 'private', @jane from documents d where d.title = 'MX8 manual';
            -- As an ingest written before chunks had visibility and owner would: the defaults.
            insert into chunks (document_id, content)
            select d.id, 'chunk of ' || d.title from documents d where d.owner_user_id = @marco;
            insert into embeddings (chunk_id) select c.id from chunks c;
            """,
            new { jane = Jane, marco = Marco, newcomer = Newcomer, janeConversation = JaneConversation, marcoConversation = MarcoConversation });
    }
}
