using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// The scheduled reconciliation heals missed webhooks, once per firing across two workers; an
/// entity BigCommerce lists malformed fails alone.
/// </summary>
public sealed class ReconciliationTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(workers: 2, settings: new Dictionary<string, string>
        {
            ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task An_order_whose_webhook_never_came_is_synced_from_the_listing_and_each_firing_runs_once()
    {
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        store.PutOrder(BigCommerceFixtures.Order(401, 11, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(401));

        var order = (await ProductUnderTest.EventuallyAsync(
            "order 401 synced by the reconciliation", () => Rows.OrderAsync(_product, 401), o => o is not null, TimeSpan.FromSeconds(30), _product.Logs))!;
        Assert.Equal(PortalUsers.Jane, order.UserId);
        Assert.Equal(["65", "66"], await Rows.LineIdsAsync(_product, 401));
        // Applied from the listing, lines and all: nothing was fetched again order by order.
        Assert.Equal((0, 0), (store.OrderFetches(401), store.LineFetches(401)));

        // Let a few more firings pass, then compare claims with what BigCommerce saw.
        await Task.Delay(TimeSpan.FromSeconds(7));
        await using var connection = await _product.OpenDatabaseAsync();
        var firings = await connection.QueryAsync<(DateTime ScheduledAt, string ClaimedBy)>(
            "select scheduled_at, claimed_by from perazzi_sync.job_firings where job_name = 'bigcommerce-reconcile'");
        var claimed = firings.AsList();
        Assert.True(claimed.Count >= 3, $"only {claimed.Count} firings claimed\n{_product.Logs()}");
        // Each firing lists orders once and customers once, whichever worker claimed it; a
        // listing in progress at the moment of reading may be one ahead.
        Assert.InRange(store.OrderListings, claimed.Count, claimed.Count + 1);
        Assert.InRange(store.CustomerListings, claimed.Count - 1, claimed.Count + 1);
        Assert.Equal(2, _product.Workers.Count(w => !w.HasExited));
    }

    /// <summary>Waits until <paramref name="count"/> more firings of the reconciliation have been claimed, and the last has had time to end.</summary>
    async Task FiringsPassAsync(int count)
    {
        const string sql = "select count(*) from perazzi_sync.job_firings where job_name = 'bigcommerce-reconcile'";
        await using var connection = await _product.OpenDatabaseAsync();
        var before = await connection.ExecuteScalarAsync<long>(sql);
        await ProductUnderTest.EventuallyAsync($"{count} more firings of the reconciliation",
            () => connection.ExecuteScalarAsync<long>(sql), n => n >= before + count, diagnostics: _product.Logs);
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task A_malformed_order_or_customer_in_the_listing_ends_alone_in_its_error_queue_once_per_version_and_the_sweep_applies_the_rest()
    {
        var store = _product.BigCommerce;
        var modified = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds());
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        foreach (var id in new long[] { 701, 702, 703 })
        {
            var order = BigCommerceFixtures.Order(id, 11, modified);
            if (id == 702)
            {
                order["total_inc_tax"] = "a lot";
            }
            store.PutOrder(order, BigCommerceFixtures.Lines(id));
        }
        // Customers the customer sweep brings: Marco's, and one whose date is no date, whose
        // order 704 the order sweep brings it with first.
        var iso = modified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var marco = BigCommerceFixtures.Customer(12, "marco.rossi@example.it");
        marco["date_modified"] = iso;
        store.PutCustomer(marco);
        var broken = BigCommerceFixtures.Customer(14, "broken@example.com");
        broken["date_modified"] = "last Tuesday";
        store.PutCustomer(broken);
        store.PutOrder(BigCommerceFixtures.Order(704, 14, modified), BigCommerceFixtures.Lines(704));

        await ProductUnderTest.EventuallyAsync("orders 701 and 703 applied from the listing around 702",
            async () => (await Rows.OrderAsync(_product, 701), await Rows.OrderAsync(_product, 703)),
            orders => orders.Item1 is not null && orders.Item2 is not null, diagnostics: _product.Logs);
        await ProductUnderTest.EventuallyAsync("customer 12 applied by the customer sweep, after the orders'",
            () => Rows.CustomerCountAsync(_product, 12), n => n == 1, diagnostics: _product.Logs);
        await ProductUnderTest.EventuallyAsync("orders 702 and 704 dead-lettered by the order consumer",
            () => _product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged), n => n >= 2, diagnostics: _product.Logs);
        await ProductUnderTest.EventuallyAsync("customer 14 dead-lettered by the customer consumer",
            () => _product.Broker.DeadLetteredAsync(Queues.BigCommerceCustomerChanged), n => n >= 1, diagnostics: _product.Logs);

        // Every later firing lists them again within its overlap, as they were: nothing more is dead-lettered.
        await FiringsPassAsync(3);
        Assert.Equal(2u, await _product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged));
        Assert.Equal(1u, await _product.Broker.DeadLetteredAsync(Queues.BigCommerceCustomerChanged));
        Assert.Null(await Rows.OrderAsync(_product, 702));
        Assert.Null(await Rows.OrderAsync(_product, 704));
        Assert.Equal(0, await Rows.CustomerCountAsync(_product, 14));

        // A change of 702 that is malformed too is another version: dead-lettered once more, once.
        var changed = BigCommerceFixtures.Order(702, 11, modified.AddSeconds(10));
        changed["total_inc_tax"] = "even more";
        store.PutOrder(changed, BigCommerceFixtures.Lines(702));
        await ProductUnderTest.EventuallyAsync("order 702's second malformed version dead-lettered",
            () => _product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged), n => n >= 3, diagnostics: _product.Logs);
        await FiringsPassAsync(3);
        Assert.Equal(3u, await _product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged));

        // And a well-formed change of it is applied by the next firing.
        store.PutOrder(BigCommerceFixtures.Order(702, 11, modified.AddSeconds(20), "Shipped"), BigCommerceFixtures.Lines(702));
        await ProductUnderTest.EventuallyAsync("order 702 applied once it is well-formed",
            () => Rows.OrderAsync(_product, 702), o => o?.Status == "Shipped", diagnostics: _product.Logs);

        var orderLetters = await _product.Broker.DrainWithHeadersAsync(Queues.BigCommerceOrderChanged + Queues.ErrorSuffix);
        var failures = orderLetters.Select(letter => (
            OrderId: JsonNode.Parse(letter.Body)!["message"]!["orderId"]!.GetValue<long>(),
            Type: letter.Headers["MT-Fault-ExceptionType"],
            Message: letter.Headers["MT-Fault-Message"])).ToList();
        Assert.Equal([702L, 702L, 704L], failures.Select(f => f.OrderId).Order());
        Assert.All(failures, f => Assert.Contains("BigCommercePayloadException", f.Type, StringComparison.Ordinal));
        Assert.All(failures, f => Assert.Contains(f.OrderId == 702 ? "total_inc_tax" : "date_modified", f.Message, StringComparison.Ordinal));
        var customerLetters = await _product.Broker.DrainWithHeadersAsync(Queues.BigCommerceCustomerChanged + Queues.ErrorSuffix);
        Assert.Equal([14L], customerLetters.Select(letter => JsonNode.Parse(letter.Body)!["message"]!["customerId"]!.GetValue<long>()));

        // The watermarks moved past what was listed, so later firings list from there.
        await using var connection = await _product.OpenDatabaseAsync();
        var watermarks = (await connection.QueryAsync<(string EntityType, DateTime ModifiedSince)>(
            "select entity_type, modified_since from perazzi_sync.reconcile_watermarks order by entity_type")).ToList();
        Assert.Equal([("customer", modified.UtcDateTime), ("order", modified.AddSeconds(20).UtcDateTime)],
            watermarks.Select(w => (w.EntityType, w.ModifiedSince.ToUniversalTime())).ToList());
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}

/// <summary>
/// The reconciliation's watermark never passes the moment its sweep began, so a change to an
/// order on a page already read is listed by the next firing, however much later a change on a
/// later page is dated.
/// </summary>
public sealed class ReconciliationWatermarkTests : IAsyncLifetime
{
    static readonly TimeSpan Overlap = TimeSpan.FromSeconds(1);

    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
            ["BigCommerce__ReconcileOverlap"] = Overlap.ToString(),
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task An_order_changed_on_a_page_already_read_is_listed_by_the_next_firing_though_a_later_page_shows_a_later_change()
    {
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        // One more than a page: 1251 comes on the second page.
        for (long id = 1001; id <= 1251; id++)
        {
            store.PutOrder(BigCommerceFixtures.Order(id, 11, before), BigCommerceFixtures.Lines(id));
        }

        var sweeps = 0;
        DateTimeOffset? firstSweepListed = null;
        (DateTime? Watermark, string Since)? secondSweep = null;
        store.OnRequest = async request =>
        {
            if (!request.Path.Value!.EndsWith("/v2/orders", StringComparison.Ordinal) || request.Query.ContainsKey("min_id"))
            {
                return;
            }
            var page = request.Query["page"].ToString();
            if (page == "1" && Interlocked.Increment(ref sweeps) is var sweep)
            {
                if (sweep == 1)
                {
                    firstSweepListed = DateTimeOffset.UtcNow;
                }
                else if (sweep == 2)
                {
                    // What the first sweep stored, read before the second one stores anything.
                    await using var connection = await _product.OpenDatabaseAsync();
                    var watermark = await connection.ExecuteScalarAsync<DateTime?>(
                        "select modified_since from perazzi_sync.reconcile_watermarks where entity_type = 'order'");
                    secondSweep = (watermark, request.Query["min_date_modified"].ToString());
                }
            }
            else if (page == "2" && Volatile.Read(ref sweeps) == 1)
            {
                // While the first sweep reads its second page: an order of the first page
                // changes, and an order of this page changes more than the overlap later.
                store.PutOrder(BigCommerceFixtures.Order(1001, 11, DateTimeOffset.UtcNow, "Shipped"), BigCommerceFixtures.Lines(1001));
                await Task.Delay(Overlap + TimeSpan.FromSeconds(1.5));
                store.PutOrder(BigCommerceFixtures.Order(1251, 11, DateTimeOffset.UtcNow, "Shipped"), BigCommerceFixtures.Lines(1251));
            }
        };

        await ProductUnderTest.EventuallyAsync("order 1251 shipped, from the first sweep's second page",
            () => Rows.OrderAsync(_product, 1251), o => o?.Status == "Shipped", TimeSpan.FromSeconds(60), _product.Logs);
        await ProductUnderTest.EventuallyAsync("order 1001 shipped, from a later sweep",
            () => Rows.OrderAsync(_product, 1001), o => o?.Status == "Shipped", TimeSpan.FromSeconds(60), _product.Logs);

        var (stored, since) = secondSweep!.Value;
        var watermark = new DateTimeOffset(DateTime.SpecifyKind(stored!.Value, DateTimeKind.Utc));
        Assert.True(watermark <= firstSweepListed, $"the first sweep stored {watermark:O}, after it began listing at {firstSweepListed:O}");
        // The next firing lists from the watermark, less the overlap (BigCommerce takes whole seconds).
        var listedFrom = DateTimeOffset.Parse(since, CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds((watermark - Overlap).ToUnixTimeSeconds()), listedFrom);
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}
