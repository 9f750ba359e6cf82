using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PerazziSync.Testing;
using PerazziSync.Worker.Sync;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// A RabbitMQ connection reset while hundreds of acknowledgements are being written, as happens
/// when a group of POS callbacks commits: the worker's endpoint must reconnect and consume its
/// queue again (docs/failures.md, "The broker connection lost"). A MassTransit bus in-process on
/// the real broker, behind a TCP proxy the test resets.
/// </summary>
public sealed class BrokerConnectionLossTests
{
    const int Held = 250;
    const string Queue = "connection-loss-held";

    [Fact]
    public async Task An_endpoint_whose_connection_is_reset_during_a_burst_of_acknowledgements_consumes_again()
    {
        await using var broker = await TestVirtualHost.CreateAsync();
        await using var proxy = await ServiceProxies.RabbitMqAsync();
        var gate = new HeldGate();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging();
        builder.Services.AddSingleton(gate);
        // The worker's own registrations, among them the observer that cancels a closed channel's deliveries.
        builder.AddSyncEndpoints();
        builder.Services.AddMassTransit(bus =>
        {
            bus.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            bus.AddConsumer<HeldMessageConsumer>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.Host(new Uri(proxy.Through(broker.AmqpUri)));
                rabbit.ReceiveEndpoint(Queue, endpoint =>
                {
                    endpoint.PrefetchCount = Held + 6;
                    endpoint.ConcurrentMessageLimit = Held + 6;
                    endpoint.ConfigureConsumer<HeldMessageConsumer>(context);
                });
            });
        });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var bus = host.Services.GetRequiredService<IBus>();
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{Queue}"));
            await endpoint.SendBatch(Enumerable.Range(0, Held).Select(n => new HeldMessage(n)));
            await ProductUnderTest.EventuallyAsync($"the consumer holding all {Held} messages", () => Task.FromResult(gate.Waiting), n => n == Held);

            // Every held consumer finishes at once, its acknowledgement queued behind the others on
            // the thread pool, and the connection is reset at the same moment: most of them are
            // written after the client's socket writer has failed.
            gate.Open();
            proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(1));
            proxy.Start();

            // The broker requeued what the reset connection held; the endpoint takes it again.
            var state = await ProductUnderTest.EventuallyAsync(
                $"{Queue} emptied by its reconnected consumer", () => broker.QueueAsync(Queue),
                q => q is { Exists: true, Messages: 0, Consumers: 1 }, TimeSpan.FromSeconds(90));
            Assert.Equal(0u, state.Messages);
            Assert.True(gate.Redelivered > 0, "every acknowledgement reached the broker before the reset: the scenario tested nothing");
        }
        finally
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(stopping.Token);
        }
    }
}

/// <summary>Holds every consumer until the test opens it, then lets them all finish at once.</summary>
public sealed class HeldGate
{
    readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int _waiting;
    int _redelivered;

    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Deliveries of messages the broker had delivered before: those the reset took back.</summary>
    public int Redelivered => Volatile.Read(ref _redelivered);

    public void Open() => _open.TrySetResult();

    public async Task PassAsync(bool redelivered)
    {
        if (redelivered)
        {
            Interlocked.Increment(ref _redelivered);
        }
        Interlocked.Increment(ref _waiting);
        await _open.Task;
    }
}

public sealed record HeldMessage(int Number);

public sealed class HeldMessageConsumer(HeldGate gate) : IConsumer<HeldMessage>
{
    public Task Consume(ConsumeContext<HeldMessage> context) => gate.PassAsync(context.ReceiveContext.Redelivered);
}
