using System.Diagnostics;
using System.Text.Json.Nodes;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>A worker stopped while its database circuit is open hands its messages back at once; none is dead-lettered.</summary>
public sealed class CircuitShutdownTests : IAsyncLifetime
{
    const string Input = Queues.PosServiceRecordReceived;
    const int Callbacks = 40;

    /// <summary>
    /// "At once": well inside the host's 30 s shutdown timeout, which is how long a stop would
    /// take if the messages waiting at the circuit's gate were not handed back.
    /// </summary>
    static readonly TimeSpan Promptly = TimeSpan.FromSeconds(10);

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
        await ProductUnderTest.EventuallyAsync(
            "the worker's database circuit to open", () => Task.FromResult(worker.Output), o => o.Contains("consumption paused", StringComparison.Ordinal),
            diagnostics: () => worker.Output);
        // The messages the worker took wait, unacknowledged, at the circuit's gate: those are the
        // ones the stop must hand back.
        var held = await ProductUnderTest.EventuallyAsync(
            $"the worker holding some of the {Callbacks} messages", () => _product.Broker.QueueAsync(Input),
            q => q.Unacknowledged > 0 && q.Messages == Callbacks, TimeSpan.FromSeconds(20), () => worker.Output);

        var stopping = Stopwatch.StartNew();
        var exitCode = await worker.StopAsync(TimeSpan.FromSeconds(60));
        stopping.Stop();

        Assert.True(exitCode == 0, worker.Output);
        Assert.True(stopping.Elapsed < Promptly,
            $"the worker took {stopping.Elapsed.TotalSeconds:0.0} s to stop while holding {held.Unacknowledged} messages\n{worker.Output}");
        // Without a consumer, nothing is unacknowledged: every message is ready again.
        var queue = await _product.Broker.QueueAsync(Input);
        Assert.True(queue is { Ready: Callbacks, Consumers: 0 }, queue.ToString());
        Assert.Equal(0u, await _product.Broker.DeadLetteredAsync(Input));
    }
}
