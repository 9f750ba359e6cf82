using System.Diagnostics;
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

    ProductWithCuttableDatabase _stack = null!;

    TcpProxy Proxy => _stack.Proxy;

    ProductUnderTest Product => _stack.Product;

    public async Task InitializeAsync() => _stack = await ProductWithCuttableDatabase.StartAsync();

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task Stopping_a_worker_during_an_outage_returns_its_messages_to_the_queue()
    {
        Proxy.Cut();
        for (var i = 0; i < Callbacks; i++)
        {
            (await Product.PosWebhooks.SendAsync(PosCallbacks.For($"WO-S-{i:D3}"))).EnsureSuccessStatusCode();
        }
        var worker = Product.Workers[0];
        await ProductUnderTest.EventuallyAsync(
            "the worker's database circuit to open", () => Task.FromResult(worker.Output), o => o.Contains("consumption paused", StringComparison.Ordinal),
            diagnostics: () => worker.Output);
        // The messages the worker took wait, unacknowledged, at the circuit's gate: those are the
        // ones the stop must hand back.
        var held = await ProductUnderTest.EventuallyAsync(
            $"the worker holding some of the {Callbacks} messages", () => Product.Broker.QueueAsync(Input),
            q => q.Unacknowledged > 0 && q.Messages == Callbacks, TimeSpan.FromSeconds(20), () => worker.Output);

        var stopping = Stopwatch.StartNew();
        var exitCode = await worker.StopAsync(TimeSpan.FromSeconds(60));
        stopping.Stop();

        Assert.True(exitCode == 0, worker.Output);
        Assert.True(stopping.Elapsed < Promptly,
            $"the worker took {stopping.Elapsed.TotalSeconds:0.0} s to stop while holding {held.Unacknowledged} messages\n{worker.Output}");
        // Without a consumer, nothing is unacknowledged: every message is ready again.
        var queue = await Product.Broker.QueueAsync(Input);
        Assert.True(queue is { Ready: Callbacks, Consumers: 0 }, queue.ToString());
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Input));
    }
}
