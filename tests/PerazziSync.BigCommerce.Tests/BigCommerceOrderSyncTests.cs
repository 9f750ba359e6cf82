using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>Callbacks through receiver → RabbitMQ → worker → fake BigCommerce → PostgreSQL (docs/sync-rules.md).</summary>
public sealed class BigCommerceOrderSyncTests(SyncFixture fixture) : IClassFixture<SyncFixture>
{
    const string StoreHash = ProductUnderTest.StoreHash;

    ProductUnderTest Product => fixture.Product;

    FakeBigCommerce Store => Product.BigCommerce;

    [Fact]
    public async Task Fixture_order_218_arrives_with_its_lines_and_a_customer_linked_to_jane()
    {
        Store.PutOrder(BigCommerceFixtures.Load("order-v2.json"), BigCommerceFixtures.Lines(218));
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "JaneDoe@Example.com"));

        var response = await Product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var order = (await ProductUnderTest.EventuallyAsync("order 218 in commerce_orders", () => Rows.OrderAsync(Product, 218), o => o is not null, diagnostics: Product.Logs))!;
        Assert.Equal(PortalUsers.Jane, order.UserId);
        Assert.Equal("11", order.CustomerId);
        Assert.Equal("Awaiting Payment", order.Status);
        Assert.Equal(69.8400m, order.TotalAmount);
        Assert.Equal("USD", order.Currency);
        Assert.Equal(new DateTime(2019, 3, 5, 21, 40, 11, DateTimeKind.Utc), order.PlacedAt!.Value.ToUniversalTime());
        Assert.Equal(["65", "66"], await Rows.LineIdsAsync(Product, 218));

        var audit = await Rows.AuditAsync(Product, 218, 11);
        Assert.Equal(
            ["commerce.customer.upsert", "commerce.order.upsert", "commerce.order_item.upsert", "commerce.order_item.upsert"],
            audit.Select(a => a.Action).Order().ToArray());
        Assert.All(audit, a => Assert.Equal("service_role", a.ActorRole));
        Assert.All(audit, a => Assert.Contains("\"operation\": \"insert\"", a.Metadata, StringComparison.Ordinal));
        Assert.Equal(1, Store.OrderFetches(218));
        Assert.Equal(0, Store.BadRequests);
    }

    [Fact]
    public async Task A_burst_of_retries_and_double_fires_costs_one_fetch_and_no_extra_audit_row()
    {
        var modified = DateTimeOffset.UtcNow.AddMinutes(-10);
        Store.PutOrder(BigCommerceFixtures.Order(301, 11, modified), BigCommerceFixtures.Lines(301));
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        await DeliverAndWaitAsync("webhook-order-created.json", 301);
        var auditBefore = (await Rows.AuditAsync(Product, 301)).Count;
        var fetchesBefore = Store.OrderFetches(301);
        Assert.Equal(1, fetchesBefore);

        var created = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 301);
        var burst = new[]
        {
            Product.BigCommerceWebhooks.SendAsync(created, "msg_burst"),
            Product.BigCommerceWebhooks.SendAsync(created, "msg_burst"),
            Product.BigCommerceWebhooks.SendAsync(created, "msg_burst"),
            Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-updated.json", StoreHash, 301)),
            Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-statusUpdated.json", StoreHash, 301)),
        };
        var before = Outcomes("order", 301).Count;
        var answers = await Task.WhenAll(burst);
        Assert.All(answers, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        // A retry that arrives once its first delivery was confirmed is answered as a duplicate and never reaches the worker.
        var published = 0;
        foreach (var answer in answers)
        {
            published += (await answer.Content.ReadAsStringAsync()).Contains("\"accepted\"", StringComparison.Ordinal) ? 1 : 0;
        }
        await WaitForOutcomesAsync("order", 301, before + published);

        Assert.Equal(fetchesBefore + 1, Store.OrderFetches(301));
        Assert.Equal(auditBefore, (await Rows.AuditAsync(Product, 301)).Count);
        Assert.Equal(["65", "66"], await Rows.LineIdsAsync(Product, 301));
    }

    [Fact]
    public async Task Two_changes_announced_by_identical_light_payloads_both_arrive()
    {
        var first = DateTimeOffset.UtcNow.AddMinutes(-5);
        Store.PutOrder(BigCommerceFixtures.Order(302, 11, first, "Pending"), BigCommerceFixtures.Lines(302));
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));

        // The light payload names the order and nothing else: both callbacks have the same body.
        Assert.Equal("applied", await DeliverAndWaitAsync("webhook-order-updated.json", 302));
        Assert.Equal("Pending", (await Rows.OrderAsync(Product, 302))?.Status);
        Store.PutOrder(BigCommerceFixtures.Order(302, 11, first.AddSeconds(1), "Shipped"), BigCommerceFixtures.Lines(302));
        Assert.Equal("applied", await DeliverAndWaitAsync("webhook-order-updated.json", 302));

        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 302))?.Status);
        Assert.Equal(2, Store.OrderFetches(302));
        var changes = (await Rows.AuditAsync(Product, 302)).Where(a => a.Action == "commerce.order.upsert").Select(a => JsonNode.Parse(a.Metadata)!).ToList();
        Assert.Equal(["insert", "update"], changes.Select(c => c["operation"]!.GetValue<string>()));
        Assert.Contains("status", changes[1]["changed_fields"]!.AsArray().Select(f => f!.GetValue<string>()));
    }

    [Fact]
    public async Task An_older_snapshot_never_overwrites_a_newer_one_and_a_status_change_writes_one_audit_row()
    {
        var newer = DateTimeOffset.UtcNow.AddMinutes(-1);
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Order(303, 11, newer, "Shipped"), BigCommerceFixtures.Lines(303));
        Assert.Equal("applied", await DeliverAndWaitAsync("webhook-order-updated.json", 303));
        var auditBefore = await Rows.AuditAsync(Product, 303);
        var fetchesBefore = Store.OrderFetches(303);

        Store.PutOrder(BigCommerceFixtures.Order(303, 11, newer.AddHours(-1), "Pending"), BigCommerceFixtures.Lines(303));
        // The worker fetched the older snapshot and refused it: not a fetch skipped or coalesced.
        Assert.Equal("stale", await DeliverAndWaitAsync("webhook-order-updated.json", 303));
        Assert.Equal(fetchesBefore + 1, Store.OrderFetches(303));

        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 303))?.Status);
        Assert.Equal(auditBefore.Count, (await Rows.AuditAsync(Product, 303)).Count);

        Store.PutOrder(BigCommerceFixtures.Order(303, 11, newer.AddMinutes(1), "Completed"), BigCommerceFixtures.Lines(303));
        Assert.Equal("applied", await DeliverAndWaitAsync("webhook-order-statusUpdated.json", 303));

        Assert.Equal("Completed", (await Rows.OrderAsync(Product, 303))?.Status);
        var added = (await Rows.AuditAsync(Product, 303)).Skip(auditBefore.Count).ToList();
        var change = Assert.Single(added);
        Assert.Equal("commerce.order.upsert", change.Action);
        var fields = JsonNode.Parse(change.Metadata)!["changed_fields"]!.AsArray().Select(f => f!.GetValue<string>()).ToList();
        Assert.Contains("status", fields);
        Assert.Contains("source_modified_at", fields);
        Assert.DoesNotContain("total_amount", fields);
        var metadata = JsonNode.Parse(change.Metadata)!;
        Assert.Equal("bigcommerce", metadata["source_system"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(metadata["message_id"]?.GetValue<string>()));
    }

    [Fact]
    public async Task A_snapshot_without_date_modified_never_replaces_a_versioned_one()
    {
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var unversioned = BigCommerceFixtures.Order(313, 11, DateTimeOffset.UtcNow, "Pending");
        unversioned["date_modified"] = "";
        Store.PutOrder(unversioned, BigCommerceFixtures.Lines(313));
        await DeliverAndWaitAsync("webhook-order-created.json", 313);
        Assert.Equal("Pending", (await Rows.OrderAsync(Product, 313))?.Status);

        Store.PutOrder(BigCommerceFixtures.Order(313, 11, DateTimeOffset.UtcNow.AddMinutes(-30), "Shipped"), BigCommerceFixtures.Lines(313));
        await DeliverAndWaitAsync("webhook-order-updated.json", 313);
        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 313))?.Status);
        var auditBefore = (await Rows.AuditAsync(Product, 313)).Count;

        var unversionedAgain = BigCommerceFixtures.Order(313, 11, DateTimeOffset.UtcNow, "Cancelled");
        unversionedAgain["date_modified"] = "";
        Store.PutOrder(unversionedAgain, BigCommerceFixtures.Lines(313));
        var fetchesBefore = Store.OrderFetches(313);
        Assert.Equal("stale", await DeliverAndWaitAsync("webhook-order-statusUpdated.json", 313));
        Assert.Equal(fetchesBefore + 1, Store.OrderFetches(313));

        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 313))?.Status);
        Assert.Equal(auditBefore, (await Rows.AuditAsync(Product, 313)).Count);
    }

    [Fact]
    public async Task An_order_whose_shopper_wrote_a_nul_character_is_stored_with_a_replacement_not_dead_lettered()
    {
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var order = BigCommerceFixtures.Order(314, 11, DateTimeOffset.UtcNow.AddMinutes(-1), "Shipped");
        order["customer_message"] = "Leave at the gate\u0000please";
        var lines = BigCommerceFixtures.Lines(314);
        lines[0]!["name"] = "Cartridge\u0000 case";

        Store.PutOrder(order, lines);
        await DeliverAndWaitAsync("webhook-order-created.json", 314);

        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 314))?.Status);
        await using var connection = await Product.OpenDatabaseAsync();
        Assert.Equal("Leave at the gate\uFFFDplease", await connection.ExecuteScalarAsync<string>(
            "select raw_payload->>'customer_message' from commerce_orders where bigcommerce_order_id = '314'"));
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>(
            "select count(*) from commerce_order_items i join commerce_orders o on o.id = i.commerce_order_id where o.bigcommerce_order_id = '314' and i.name = 'Cartridge\uFFFD case'"));
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged));
    }

    [Fact]
    public async Task BigCommerce_example_with_a_misspelt_currency_key_and_unpadded_money_is_applied_exactly()
    {
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Load("order-v2-multiple-items.json"), BigCommerceFixtures.Lines(247));

        await DeliverAndWaitAsync("webhook-order-created.json", 247);

        var order = await Rows.OrderAsync(Product, 247);
        Assert.True(order is not null, Product.Logs());
        Assert.Equal(1008.74m, order.TotalAmount);
        Assert.Equal("USD", order.Currency);
        Assert.Equal("Awaiting Fulfillment", order.Status);
    }

    [Fact]
    public async Task Every_page_of_product_lines_is_fetched()
    {
        var template = BigCommerceFixtures.Lines(312)[0]!;
        var lines = new JsonArray();
        for (var i = 0; i < 120; i++)
        {
            var line = template.DeepClone();
            line["id"] = 9000 + i;
            lines.Add(line);
        }
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Order(312, 11, DateTimeOffset.UtcNow.AddMinutes(-2)), lines);

        await DeliverAndWaitAsync("webhook-order-created.json", 312);

        Assert.Equal(120, (await Rows.LineIdsAsync(Product, 312)).Count);
    }

    [Fact]
    public async Task Lines_gone_upstream_are_removed_and_audited()
    {
        var modified = DateTimeOffset.UtcNow.AddMinutes(-3);
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Order(304, 11, modified), BigCommerceFixtures.Lines(304));
        await DeliverAndWaitAsync("webhook-order-created.json", 304);

        var oneLine = BigCommerceFixtures.Lines(304);
        oneLine.RemoveAt(1);
        Store.PutOrder(BigCommerceFixtures.Order(304, 11, modified.AddSeconds(30)), oneLine);
        await DeliverAndWaitAsync("webhook-order-updated.json", 304);

        Assert.Equal(["65"], await Rows.LineIdsAsync(Product, 304));
        Assert.Single(await Rows.AuditAsync(Product, 304), a => a.Action == "commerce.order_item.delete");
    }

    [Fact]
    public async Task Guest_orders_and_orders_of_unconfirmed_users_are_parked_not_linked()
    {
        var modified = DateTimeOffset.UtcNow.AddMinutes(-2);
        Store.PutOrder(BigCommerceFixtures.Order(305, 0, modified), BigCommerceFixtures.Lines(305));
        Store.PutOrder(BigCommerceFixtures.Order(306, 31, modified), BigCommerceFixtures.Lines(306));
        Store.PutCustomer(BigCommerceFixtures.Customer(31, "unconfirmed@example.com"));

        (await Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 305))).EnsureSuccessStatusCode();
        (await Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 306))).EnsureSuccessStatusCode();

        var guest = await ProductUnderTest.EventuallyAsync("order 305 parked", () => Rows.ParkedAsync(Product, "order:305"), p => p is not null, diagnostics: Product.Logs);
        var unconfirmed = await ProductUnderTest.EventuallyAsync("order 306 parked", () => Rows.ParkedAsync(Product, "order:306"), p => p is not null, diagnostics: Product.Logs);
        Assert.Equal("guest_order", guest?.Reason);
        Assert.Equal("no_confirmed_portal_user", unconfirmed?.Reason);
        Assert.Null(await Rows.OrderAsync(Product, 305));
        Assert.Null(await Rows.OrderAsync(Product, 306));
        Assert.Equal(0, await Rows.CustomerCountAsync(Product, 31));
    }

    [Fact]
    public async Task Rate_limiting_and_server_errors_delay_the_sync_but_lose_and_dead_letter_nothing()
    {
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Order(307, 11, DateTimeOffset.UtcNow.AddMinutes(-1), "Shipped"), BigCommerceFixtures.Lines(307));
        Store.PutOrder(BigCommerceFixtures.Order(308, 11, DateTimeOffset.UtcNow.AddMinutes(-1), "Shipped"), BigCommerceFixtures.Lines(308));
        Store.LowerCaseHeaders = true;
        try
        {
            var tooManyBefore = Store.TooManyRequestsSent;
            Store.ExhaustWindowAtNextRequest(TimeSpan.FromSeconds(2));
            Assert.Equal("applied", await DeliverAndWaitAsync("webhook-order-created.json", 307));
            // One 429, whose (lower-case) reset header the worker waited for: no retry came back
            // before the window reset, as the retry strategy's own backoff (from 0.5 s) would.
            Assert.Equal(tooManyBefore + 1, Store.TooManyRequestsSent);

            var failuresBefore = Store.FailuresSent;
            Store.FailNext(12, HttpStatusCode.InternalServerError);
            Assert.Equal("applied", await DeliverAndWaitAsync("webhook-order-created.json", 308, TimeSpan.FromSeconds(90)));
            Assert.Equal(failuresBefore + 12, Store.FailuresSent);
            Assert.Equal(tooManyBefore + 1, Store.TooManyRequestsSent);
        }
        finally
        {
            Store.LowerCaseHeaders = false;
        }
        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 307))?.Status);
        Assert.Equal("Shipped", (await Rows.OrderAsync(Product, 308))?.Status);
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged));
    }

    [Fact]
    public async Task Archived_order_is_kept_and_marked()
    {
        var modified = DateTimeOffset.UtcNow.AddMinutes(-4);
        Store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Order(309, 11, modified), BigCommerceFixtures.Lines(309));
        await DeliverAndWaitAsync("webhook-order-created.json", 309);

        var archived = BigCommerceFixtures.Order(309, 11, modified.AddSeconds(5));
        archived["is_deleted"] = true;
        Store.PutOrder(archived, BigCommerceFixtures.Lines(309));
        await DeliverAndWaitAsync("webhook-order-archived.json", 309);

        var order = await Rows.OrderAsync(Product, 309);
        Assert.NotNull(order?.ArchivedAt);
        Assert.Equal(["65", "66"], await Rows.LineIdsAsync(Product, 309));
    }

    [Fact]
    public async Task Deleted_customer_keeps_its_row_and_orders_marked_unlinked()
    {
        Store.PutCustomer(BigCommerceFixtures.Customer(12, "Marco.Rossi@example.IT"));
        Store.PutOrder(BigCommerceFixtures.Order(310, 12, DateTimeOffset.UtcNow.AddMinutes(-4)), BigCommerceFixtures.Lines(310));
        await DeliverAndWaitAsync("webhook-order-created.json", 310);
        Assert.Equal(PortalUsers.Marco, (await Rows.OrderAsync(Product, 310))?.UserId);

        (await Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-customer-deleted.json", StoreHash, 12))).EnsureSuccessStatusCode();

        await ProductUnderTest.EventuallyAsync("customer 12 marked unlinked", () => Rows.LinkStatusAsync(Product, 12), s => s == "unlinked", diagnostics: Product.Logs);
        Assert.NotNull(await Rows.OrderAsync(Product, 310));
    }

    [Fact]
    public async Task A_linked_customer_is_never_moved_to_another_user_by_an_email_change_upstream()
    {
        Store.PutCustomer(BigCommerceFixtures.Customer(13, "janedoe@example.com"));
        Store.PutOrder(BigCommerceFixtures.Order(311, 13, DateTimeOffset.UtcNow.AddMinutes(-4)), BigCommerceFixtures.Lines(311));
        await DeliverAndWaitAsync("webhook-order-created.json", 311);

        var changed = BigCommerceFixtures.Customer(13, "marco.rossi@example.it");
        changed["date_modified"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Store.PutCustomer(changed);
        (await Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-customer-updated.json", StoreHash, 13))).EnsureSuccessStatusCode();
        await WaitForOutcomesAsync("customer", 13, 1);

        Assert.Equal(PortalUsers.Jane, (await Rows.OrderAsync(Product, 311))?.UserId);
    }

    /// <summary>Sends a callback and waits until the worker has finished with it; returns the outcome it logged.</summary>
    async Task<string> DeliverAndWaitAsync(string fixture, long orderId, TimeSpan? timeout = null)
    {
        var before = Outcomes("order", orderId).Count;
        var response = await Product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback(fixture, StoreHash, orderId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await WaitForOutcomesAsync("order", orderId, before + 1, timeout);
    }

    /// <summary>Waits until the worker logged the <paramref name="count"/>th outcome for this entity; returns that outcome.</summary>
    async Task<string> WaitForOutcomesAsync(string entity, long id, int count, TimeSpan? timeout = null)
    {
        var outcomes = await ProductUnderTest.EventuallyAsync(
            $"outcome {count} of BigCommerce {entity} {id} in the worker's log",
            () => Task.FromResult(Outcomes(entity, id)), o => o.Count >= count, timeout, Product.Logs);
        return outcomes[count - 1];
    }

    /// <summary>The outcome the worker logged for each message about this entity, in order.</summary>
    List<string> Outcomes(string entity, long id)
    {
        var marker = $"BigCommerce {entity} {id} (";
        return Product.Logs().Split('\n')
            .Where(line => line.Contains(marker, StringComparison.Ordinal))
            .Select(line => line[(line.LastIndexOf(':') + 1)..].Trim())
            .ToList();
    }
}
