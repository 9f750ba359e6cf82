using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// A deployment that configured the store hash as '  TESTSTORE ' and later as 'TestStore' kept its
/// reconciliation watermarks under those spellings; once 0029 has run, the worker, which asks for
/// 'teststore', carries on from the earlier of them instead of its first look-back.
/// </summary>
public sealed class StoreHashUpgradeTests : IAsyncLifetime
{
    const string Script = "schema/0029_store_hashes_canonical.sql";
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>
        {
            ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task The_reconciliation_lists_from_the_earlier_watermark_kept_under_an_old_spelling_of_the_hash()
    {
        var store = _product.BigCommerce;
        var listedFrom = store.RecordOrderListings();
        // To the second, as the listing's date is.
        var earlier = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-6).ToUnixTimeSeconds());
        await using (var connection = await _product.OpenDatabaseAsync())
        {
            // Written before 0029 ran: its journal row deleted, run again below.
            await connection.ExecuteAsync("""
                delete from perazzi_sync.schema_versions where scriptname = @Script;
                insert into perazzi_sync.reconcile_watermarks (store_hash, entity_type, modified_since) values
                  ('  TESTSTORE ', 'order', @Earlier), ('TestStore', 'order', @Later);
                """, new { Script, Earlier = earlier.UtcDateTime, Later = earlier.AddHours(4).UtcDateTime });
        }
        Assert.Equal([Script], (await _product.Database.MigrateAsync()).Applied);

        await _product.StartWorkerAsync();

        await ProductUnderTest.EventuallyAsync("the reconciliation's first listing of orders",
            () => Task.FromResult(listedFrom.Count), n => n > 0, diagnostics: _product.Logs);
        // The watermark less the overlap (five minutes), not a day back (the first look-back).
        Assert.Equal(earlier - TimeSpan.FromMinutes(5), listedFrom.First());
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}
