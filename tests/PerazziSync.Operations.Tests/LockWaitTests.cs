using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>
/// Waiting for a lock is not a database outage: the worker's statements time out after 3 s here
/// (a group of POS callbacks gives up a row lock after 10 s), locks are held longer than that,
/// and the database circuit must stay closed while every other message flows.
/// </summary>
public sealed class LockWaitTests : IAsyncLifetime
{
    static readonly TimeSpan Held = TimeSpan.FromSeconds(10);

    /// <summary>Past the lock timeout of a group of POS callbacks, with time for its retry to log.</summary>
    static readonly TimeSpan HeldFromGroup = TimeSpan.FromSeconds(14);

    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(
            workerDatabase: connectionString => new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 3 }.ConnectionString);

    public async Task DisposeAsync() => await _product.DisposeAsync();

    async Task<string?> StatusAsync(string id)
    {
        await using var connection = await _product.OpenDatabaseAsync();
        return await connection.ExecuteScalarAsync<string?>("select status from service_events where source_record_id = @id", new { id });
    }

    async Task<string?> OrderStatusAsync(long orderId)
    {
        await using var connection = await _product.OpenDatabaseAsync();
        return await connection.ExecuteScalarAsync<string?>(
            "select status from commerce_orders where bigcommerce_order_id = @id", new { id = orderId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    [Fact]
    public async Task An_order_whose_entity_lock_another_worker_holds_waits_and_nothing_else_pauses()
    {
        _product.BigCommerce.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        _product.BigCommerce.PutOrder(BigCommerceFixtures.Order(401, 11, DateTimeOffset.UtcNow.AddMinutes(-1), "Shipped"), BigCommerceFixtures.Lines(401));
        await using var holder = await _product.OpenDatabaseAsync();
        await holder.ExecuteAsync("select pg_advisory_lock(hashtextextended('bigcommerce:teststore:order:401', 0))");

        var held = DateTime.UtcNow;
        (await _product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 401))).EnsureSuccessStatusCode();
        (await _product.PosWebhooks.SendAsync(PosCallbacks.For("WO-LOCK-1", "2026-03-20T10:00:00Z", "received"))).EnsureSuccessStatusCode();
        Assert.Equal("received", await ProductUnderTest.EventuallyAsync(
            "WO-LOCK-1 applied while order 401 waits", () => StatusAsync("WO-LOCK-1"), s => s is not null, TimeSpan.FromSeconds(15), _product.Logs));
        await Task.Delay(Held - (DateTime.UtcNow - held));

        // Three statement timeouts have passed by now.
        Assert.DoesNotContain("consumption paused", _product.Logs(), StringComparison.Ordinal);
        Assert.Contains("Waiting for bigcommerce:teststore:order:401", _product.Logs(), StringComparison.Ordinal);
        Assert.Null(await OrderStatusAsync(401));

        await holder.ExecuteAsync("select pg_advisory_unlock(hashtextextended('bigcommerce:teststore:order:401', 0))");

        Assert.Equal("Shipped", await ProductUnderTest.EventuallyAsync(
            "order 401 applied once its lock is released", () => OrderStatusAsync(401), s => s is not null, diagnostics: _product.Logs));
        Assert.DoesNotContain("unreachable", _product.Logs(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_callback_whose_row_an_import_chunk_has_locked_is_retried_and_nothing_else_pauses()
    {
        (await _product.PosWebhooks.SendAsync(PosCallbacks.For("WO-LOCK-2", "2026-03-20T10:00:00Z", "received"))).EnsureSuccessStatusCode();
        Assert.Equal("received", await ProductUnderTest.EventuallyAsync(
            "WO-LOCK-2 applied", () => StatusAsync("WO-LOCK-2"), s => s is not null, diagnostics: _product.Logs));
        await using var chunk = await _product.OpenDatabaseAsync();
        await using var transaction = await chunk.BeginTransactionAsync();
        await chunk.ExecuteAsync("select * from service_events where source_record_id = 'WO-LOCK-2' for update", transaction: transaction);

        var held = DateTime.UtcNow;
        (await _product.PosWebhooks.SendAsync(PosCallbacks.For("WO-LOCK-2", "2026-03-21T10:00:00Z", "completed"))).EnsureSuccessStatusCode();
        (await _product.PosWebhooks.SendAsync(PosCallbacks.For("WO-LOCK-3", "2026-03-20T10:00:00Z", "received"))).EnsureSuccessStatusCode();
        Assert.Equal("received", await ProductUnderTest.EventuallyAsync(
            "WO-LOCK-3 applied while WO-LOCK-2 waits", () => StatusAsync("WO-LOCK-3"), s => s is not null, TimeSpan.FromSeconds(15), _product.Logs));
        await Task.Delay(HeldFromGroup - (DateTime.UtcNow - held));

        // The group's lock timeout has passed by now.
        Assert.DoesNotContain("consumption paused", _product.Logs(), StringComparison.Ordinal);
        Assert.Contains("PosServiceRecordReceived waited for PostgreSQL", _product.Logs(), StringComparison.Ordinal);
        Assert.Equal("received", await StatusAsync("WO-LOCK-2"));

        await transaction.RollbackAsync();

        Assert.Equal("completed", await ProductUnderTest.EventuallyAsync(
            "the second version of WO-LOCK-2 applied once the row is unlocked", () => StatusAsync("WO-LOCK-2"), s => s == "completed",
            diagnostics: _product.Logs));
        Assert.DoesNotContain("unreachable", _product.Logs(), StringComparison.Ordinal);
        Assert.Equal(0u, await _product.Broker.DeadLetteredAsync(Queues.PosServiceRecordReceived));
    }
}
