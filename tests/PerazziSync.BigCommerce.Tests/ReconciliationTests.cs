using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>The scheduled reconciliation heals missed webhooks, once per firing across two workers.</summary>
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
}
