using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Data;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// An order read with its lines embedded in its consignments (one request) writes exactly the
/// rows it writes when its lines are read from <c>/products</c>; where the embedding cannot be
/// trusted, the lines come from <c>/products</c>. The client runs against the fake store over
/// HTTP, the rules against the real database.
/// </summary>
public sealed class EmbeddedLinesTests : IAsyncLifetime
{
    InProcessStore _sync = null!;

    FakeBigCommerce _store = null!;

    public async Task InitializeAsync()
    {
        _sync = await InProcessStore.StartAsync();
        _store = _sync.Store;
    }

    public async Task DisposeAsync() => await _sync.DisposeAsync();

    BigCommerceClient Client => _sync.Get<BigCommerceClient>();

    /// <summary>The spec's lines example, and orders of every consignment kind made from it.</summary>
    public static TheoryData<string> Layouts => ["spec example", "two shipping addresses", "digital", "pickup", "gift certificate", "every kind"];

    static JsonArray Lines(long orderId, string layout)
    {
        var lines = BigCommerceFixtures.Lines(orderId);
        var line = (JsonObject)lines[0]!;
        JsonObject Another(long id, Action<JsonObject> change)
        {
            var copy = (JsonObject)line.DeepClone();
            copy["id"] = id;
            copy["sku"] = $"SKU-{id}";
            change(copy);
            return copy;
        }
        switch (layout)
        {
            case "two shipping addresses":
                lines.Add(Another(70, l => { l["order_address_id"] = 52; l["quantity"] = 3; }));
                break;
            case "digital":
                lines.Add(Another(71, l => { l["type"] = "digital"; l["order_address_id"] = 0; }));
                break;
            case "pickup":
                lines.Add(Another(72, l => { l["order_pickup_method_id"] = 1; l["order_address_id"] = 0; }));
                break;
            case "gift certificate":
                lines.Add(Another(73, l => { l["type"] = "giftcertificate"; l["order_address_id"] = 0; l["gift_certificate_id"] = 9; }));
                break;
            case "every kind":
                lines.Add(Another(70, l => { l["order_address_id"] = 52; l["quantity"] = 3; }));
                lines.Add(Another(71, l => { l["type"] = "digital"; l["order_address_id"] = 0; }));
                lines.Add(Another(72, l => { l["order_pickup_method_id"] = 1; l["order_address_id"] = 0; }));
                lines.Add(Another(73, l => { l["type"] = "giftcertificate"; l["order_address_id"] = 0; l["gift_certificate_id"] = 9; }));
                break;
        }
        return lines;
    }

    static JsonObject Order(long orderId, JsonArray lines)
    {
        var order = BigCommerceFixtures.Order(orderId, 11, DateTimeOffset.UtcNow.AddMinutes(-1), "Shipped");
        order["items_total"] = lines.Sum(l => l!["quantity"]!.GetValue<int>());
        return order;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task An_order_read_in_one_request_writes_the_rows_its_products_pages_write(string layout)
    {
        const long orderId = 5001;
        var lines = Lines(orderId, layout);
        _store.PutOrder(Order(orderId, lines), lines);

        var embedded = await Client.GetOrderAsync(orderId, CancellationToken.None);
        Assert.Equal((1, 0), (_store.OrderFetches(orderId), _store.LineFetches(orderId)));
        Assert.Equal(lines.Count, embedded!.Lines.Count);
        var embeddedRows = await ApplyAndReadAsync(embedded);

        _store.EmbedLines = false;
        var paged = await Client.GetOrderAsync(orderId, CancellationToken.None);
        Assert.Equal((2, 1), (_store.OrderFetches(orderId), _store.LineFetches(orderId)));
        var pagedRows = await ApplyAndReadAsync(paged!);

        Assert.Equal(pagedRows, embeddedRows);
        Assert.Equal(lines.Count + 1, embeddedRows.Count);
        Assert.Equal(0, _store.BadRequests);
    }

    [Fact]
    public async Task Lines_are_read_from_products_when_the_item_count_disagrees_or_the_order_has_more_than_a_page()
    {
        // The spec's own example counts 4 items where its lines example has 2.
        var disagreeing = BigCommerceFixtures.Load("order-v2.json");
        _store.PutOrder(disagreeing, BigCommerceFixtures.Lines(218));
        var order = await Client.GetOrderAsync(218, CancellationToken.None);
        Assert.Equal(2, order!.Lines.Count);
        Assert.Equal(1, _store.LineFetches(218));

        var many = new JsonArray(Enumerable.Range(1, 60).Select(i =>
        {
            var line = (JsonObject)BigCommerceFixtures.Lines(5002)[0]!.DeepClone();
            line["id"] = 1000 + i;
            return (JsonNode)line;
        }).ToArray());
        _store.PutOrder(Order(5002, many), many);
        var large = await Client.GetOrderAsync(5002, CancellationToken.None);
        Assert.Equal(60, large!.Lines.Count);
        Assert.Equal(2, _store.LineFetches(5002));
        Assert.Equal(0, _store.BadRequests);
    }

    [Fact]
    public async Task A_listing_carries_each_order_with_its_lines_in_one_request_per_250_orders()
    {
        var since = DateTimeOffset.UtcNow.AddMinutes(-5);
        for (long id = 6001; id <= 6300; id++)
        {
            var lines = Lines(id, id % 2 == 0 ? "every kind" : "spec example");
            _store.PutOrder(Order(id, lines), lines);
        }

        var listed = new List<OrderSnapshot>();
        await foreach (var entry in Client.ListOrdersAsync(since, 6001, 6300, CancellationToken.None))
        {
            listed.Add(entry.Snapshot!);
        }

        Assert.Equal(Enumerable.Range(6001, 300).Select(i => (long)i), listed.Select(s => s.Order.Id));
        Assert.All(listed, s => Assert.Equal(s.Order.Id % 2 == 0 ? 6 : 2, s.Lines.Count));
        Assert.Equal(2, _store.OrderListings);
        Assert.Equal(0, _store.LineFetches(6001) + _store.LineFetches(6002));
        Assert.Equal(0, _store.BadRequests);
    }

    /// <summary>Applies the snapshot to a database without the order, and reads back the order's and its lines' rows.</summary>
    async Task<List<string>> ApplyAndReadAsync(OrderSnapshot snapshot)
    {
        var key = snapshot.Order.Id.ToString(CultureInfo.InvariantCulture);
        await using (var superuser = await _sync.Database.OpenAsSuperuserAsync())
        {
            await superuser.ExecuteAsync("""
                delete from commerce_order_items where commerce_order_id in (select id from commerce_orders where bigcommerce_order_id = @Key);
                delete from commerce_orders where bigcommerce_order_id = @Key;
                """, new { Key = key });
        }
        var jane = new CustomerSnapshot(BigCommerceCustomer.Parse(JsonDocument.Parse(BigCommerceFixtures.Customer(11, "janedoe@example.com").ToJsonString()).RootElement), snapshot.FetchStartedAt);
        await using var connection = await _sync.DataSource.OpenConnectionAsync();
        await using (var transaction = await ServiceRole.BeginAsync(connection, AuditContext.For(SourceSystem.Name, SourceSystem.OrderKey(snapshot.Order.Id)), CancellationToken.None))
        {
            var outcome = await OrderSync.ApplyAsync(transaction, ProductUnderTest.StoreHash, snapshot, jane, false, new Parkable("test", "{}", null), CancellationToken.None);
            Assert.Equal(SyncOutcome.Applied, outcome);
            await transaction.CommitAsync();
        }
        var order = await connection.QueryAsync<string>("""
            select concat_ws('|', status, total_amount, currency, placed_at, source_modified_at, archived_at, raw_payload::text)
            from commerce_orders where bigcommerce_order_id = @Key
            """, new { Key = key });
        var items = await connection.QueryAsync<string>("""
            select concat_ws('|', i.bigcommerce_line_id, i.sku, i.product_id, i.name, i.quantity, i.price, i.raw_payload::text)
            from commerce_order_items i join commerce_orders o on o.id = i.commerce_order_id
            where o.bigcommerce_order_id = @Key order by i.bigcommerce_line_id
            """, new { Key = key });
        return [.. order, .. items];
    }
}
