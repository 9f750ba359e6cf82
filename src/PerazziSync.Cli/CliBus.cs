using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PerazziSync.ServiceDefaults;

namespace PerazziSync.Cli;

/// <summary>Publishes messages as the hosts do: same bus settings, each confirmed by the broker before its publish returns.</summary>
sealed class CliBus(IHost host) : IAsyncDisposable
{
    public static async Task<CliBus> StartAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.AddServiceDefaults();
        builder.AddMessageBus();
        // Ctrl+C and SIGTERM belong to System.CommandLine, which cancels the verb's token; the
        // host's console lifetime would take them for itself and leave the verb running.
        builder.Services.AddSingleton<IHostLifetime, NoConsoleLifetime>();
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
            return new CliBus(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Publishes <paramref name="message"/> with <paramref name="messageId"/>; returns once the broker confirmed it into a queue.</summary>
    public Task PublishAsync(object message, Guid messageId, CancellationToken cancellationToken) =>
        host.Services.GetRequiredService<IBus>().Publish(message, message.GetType(), context =>
        {
            context.MessageId = messageId;
            context.MustReachAQueue();
        }, cancellationToken);

    /// <summary>Stops the bus; a publish it still retries after <paramref name="timeout"/> is abandoned.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        using var stopping = new CancellationTokenSource(timeout);
        await host.StopAsync(stopping.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        host.Dispose();
    }

    sealed class NoConsoleLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
