using System.Text.Json;
using Dapper;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Data;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>Which of two order snapshots of the same <c>date_modified</c> second the row keeps, on the real database.</summary>
public sealed class OrderVersionTests : IAsyncLifetime
{
    PortalDataSource _portal = null!;

    public async Task InitializeAsync() => _portal = await PortalDataSource.CreateAsync();

    public async Task DisposeAsync() => await _portal.DisposeAsync();

    [Theory]
    [InlineData("Awaiting Payment", "Awaiting Fulfillment")]
    [InlineData("Awaiting Fulfillment", "Awaiting Payment")]
    public async Task Of_two_changes_within_one_second_the_order_keeps_the_one_fetched_last(string first, string second)
    {
        // BigCommerce's date_modified counts seconds: both changes carry the same version.
        var second0 = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
        var fetched = DateTimeOffset.UtcNow;
        Assert.Equal(SyncOutcome.Applied, await ApplyAsync(Snapshot(first, second0, fetched)));
        Assert.Equal(SyncOutcome.Applied, await ApplyAsync(Snapshot(second, second0, fetched.AddMilliseconds(400))));

        await using var connection = await _portal.DataSource.OpenConnectionAsync();
        Assert.Equal(second, await connection.ExecuteScalarAsync<string>("select status from commerce_orders where bigcommerce_order_id = '7001'"));
        // A snapshot of an earlier second is still older, whenever it is fetched.
        Assert.Equal(SyncOutcome.Stale, await ApplyAsync(Snapshot(first, second0.AddSeconds(-1), fetched.AddSeconds(1))));
        Assert.Equal(second, await connection.ExecuteScalarAsync<string>("select status from commerce_orders where bigcommerce_order_id = '7001'"));
    }

    static OrderSnapshot Snapshot(string status, DateTimeOffset modified, DateTimeOffset fetched)
    {
        using var order = JsonDocument.Parse(BigCommerceFixtures.Order(7001, 11, modified, status).ToJsonString());
        var lines = BigCommerceFixtures.Lines(7001).Select(l => BigCommerceOrderLine.Parse(JsonDocument.Parse(l!.ToJsonString()).RootElement.Clone())).ToList();
        return new OrderSnapshot(BigCommerceOrder.Parse(order.RootElement.Clone()), lines, fetched);
    }

    async Task<SyncOutcome> ApplyAsync(OrderSnapshot snapshot)
    {
        using var customer = JsonDocument.Parse(BigCommerceFixtures.Customer(11, "janedoe@example.com").ToJsonString());
        var jane = new CustomerSnapshot(BigCommerceCustomer.Parse(customer.RootElement.Clone()), snapshot.FetchStartedAt);
        await using var connection = await _portal.DataSource.OpenConnectionAsync();
        await using var transaction = await ServiceRole.BeginAsync(connection,
            AuditContext.For(SourceSystem.Name, SourceSystem.OrderKey(snapshot.Order.Id)), CancellationToken.None);
        var outcome = await OrderSync.ApplyAsync(transaction, ProductUnderTest.StoreHash, snapshot, jane, false, new Parkable("test", "{}", null), CancellationToken.None);
        await transaction.CommitAsync();
        return outcome;
    }
}
