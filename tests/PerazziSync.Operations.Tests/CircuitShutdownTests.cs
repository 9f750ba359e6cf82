using System.Text.Json.Nodes;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>A worker stopped while its database circuit is open hands its messages back; none is dead-lettered.</summary>
public sealed class CircuitShutdownTests : IAsyncLifetime
{
    const string Input = "pos-service-record-received";
    const int Callbacks = 40;
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
    public async Task Stopping_a_worker_during_an_outage_returns_its_messages_to_the_queue()
    {
        _proxy.Cut();
        var template = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", "callback-completed.json")))!;
        for (var i = 0; i < Callbacks; i++)
        {
            var record = template.DeepClone();
            record["source_record_id"] = $"WO-S-{i:D3}";
            (await _product.PosWebhooks.SendAsync(record.ToJsonString())).EnsureSuccessStatusCode();
        }
        var worker = _product.Workers[0];
        var paused = await ProductUnderTest.EventuallyAsync(() => Task.FromResult(worker.Output), o => o.Contains("consumption paused", StringComparison.Ordinal));
        Assert.Contains("consumption paused", paused, StringComparison.Ordinal);

        var exitCode = await worker.StopAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, worker.Output);
        Assert.Equal((uint)Callbacks, await _product.Broker.MessageCountAsync(Input));
        Assert.Equal(0u, await _product.Broker.MessageCountAsync(Input + "_error"));
    }
}
