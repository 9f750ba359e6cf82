using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PerazziSync.ServiceDefaults;

namespace PerazziSync.Cli;

/// <summary>Publishes messages as the hosts do: same bus settings, confirmed by the broker before it returns.</summary>
static class CliBus
{
    public static async Task PublishAsync(IConfiguration configuration, IReadOnlyList<object> messages, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.AddServiceDefaults();
        builder.AddMessageBus();
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var bus = host.Services.GetRequiredService<IBus>();
            foreach (var message in messages)
            {
                await bus.Publish(message, message.GetType(), cancellationToken);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
