using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Pos.Tests;

/// <summary>PostgreSQL unreachable for a minute while callbacks flow: everything applied afterwards, nothing dead-lettered.</summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    const int Callbacks = 1_000;
    TcpProxy _proxy = null!;
    ProductUnderTest _product = null!;

    public async Task InitializeAsync()
    {
        _proxy = await ServiceProxies.PostgresAsync();
        _product = await ProductUnderTest.StartAsync(workerDatabase: _proxy.Through);
    }

    public async Task DisposeAsync()
    {
        await _product.DisposeAsync();
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task Every_callback_is_applied_after_a_60_second_database_outage_and_none_is_dead_lettered()
    {
        var template = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", "callback-completed.json")))!;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Callbacks; i++)
            {
                var record = template.DeepClone();
                record["source_record_id"] = string.Create(CultureInfo.InvariantCulture, $"WO-O-{i:D5}");
                var response = await _product.PosWebhooks.SendAsync(record.ToJsonString());
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await Task.Delay(20);
            }
        });
        await using var connection = await _product.OpenDatabaseAsync();
        await ProductUnderTest.EventuallyAsync(
            () => connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-O-%'"),
            n => n >= 100);

        _proxy.Cut();
        await Task.Delay(TimeSpan.FromSeconds(20));
        // The circuit is open: callbacks keep arriving and wait in the queue, unconsumed.
        var waiting = await _product.Broker.MessageCountAsync("pos-service-record-received");
        Assert.True(waiting > 0, _product.Logs()[^Math.Min(4000, _product.Logs().Length)..]);
        Assert.Contains("consumption paused", _product.Logs(), StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(40));
        _proxy.Start();
        await sending;

        var applied = await ProductUnderTest.EventuallyAsync(
            () => connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-O-%'"),
            n => n == Callbacks, TimeSpan.FromSeconds(120));
        Assert.True(applied == Callbacks, $"{applied} applied\n{_product.Logs()[^4000..]}");
        Assert.Equal(Callbacks, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-O-%'"));
        Assert.Equal(0u, await _product.Broker.MessageCountAsync("pos-service-record-received_error"));
        Assert.Contains("consumption resumed", _product.Logs(), StringComparison.Ordinal);
        output.WriteLine($"PostgreSQL cut off for 60 s under {Callbacks} callbacks: {waiting} waiting in the queue 20 s in, " +
            $"{applied} applied and audited once afterwards, 0 dead-lettered");
        Assert.Equal(1, _product.Workers.Count(w => !w.HasExited));
    }
}
