using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace PerazziSync.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    const string ReadyTag = "ready";

    /// <summary>
    /// The key of the <see cref="NpgsqlDataSource"/> whose connections skip the session reset;
    /// only for code that holds no session state (no session advisory lock, no plain <c>set</c>).
    /// </summary>
    public const string TransactionScoped = "transaction-scoped";

    /// <summary>Health checks, telemetry and start-up validation shared by every host.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.AddObservability();
        // Only a web host listens; the Cli's host reads the same environment and serves nothing.
        if (builder is WebApplicationBuilder)
        {
            builder.AddManagementPort();
        }
        builder.Services.AddHealthChecks();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>
    /// Requires <c>ConnectionStrings:Postgres</c> at start-up, registers an <see cref="NpgsqlDataSource"/>
    /// for it and makes readiness depend on the database answering.
    /// </summary>
    public static IHostApplicationBuilder AddPortalDatabase(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ConnectionStringsOptions>()
            .BindConfiguration(ConnectionStringsOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Postgres),
                "ConnectionStrings:Postgres is not set (environment variable ConnectionStrings__Postgres)")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp =>
            NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<ConnectionStringsOptions>>().Value.Postgres!));
        builder.Services.AddKeyedSingleton(TransactionScoped, (sp, _) =>
        {
            // For work that keeps no state beyond its transaction (xact locks, `set local`): the
            // session reset (DISCARD ALL) a pooled connection gets on its way back has nothing to
            // clear there and costs a round trip and PostgreSQL's plan caches on every message.
            var connection = new NpgsqlConnectionStringBuilder(sp.GetRequiredService<IOptions<ConnectionStringsOptions>>().Value.Postgres!)
            {
                NoResetOnClose = true,
            };
            return NpgsqlDataSource.Create(connection);
        });
        builder.Services.AddHealthChecks().AddNpgSql(
            sp => sp.GetRequiredService<IOptions<ConnectionStringsOptions>>().Value.Postgres!,
            name: "postgres",
            tags: [ReadyTag]);
        return builder;
    }

    /// <summary>
    /// MassTransit on RabbitMQ from <c>ConnectionStrings:RabbitMq</c>, required at start-up;
    /// readiness depends on the bus being connected. Input queues are quorum queues when
    /// <c>Messaging:QueueType</c> says so.
    /// </summary>
    public static IHostApplicationBuilder AddMessageBus(
        this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator>? configure = null)
    {
        builder.Services.AddOptions<ConnectionStringsOptions>()
            .BindConfiguration(ConnectionStringsOptions.Section)
            .Validate(o => Uri.TryCreate(o.RabbitMq, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps",
                "ConnectionStrings:RabbitMq is not set to an amqp:// URI (environment variable ConnectionStrings__RabbitMq)")
            .ValidateOnStart();

        builder.Services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.Section)
            .Validate(o => o.QueueType is MessagingOptions.Classic or MessagingOptions.Quorum,
                "Messaging:QueueType must be classic or quorum")
            .ValidateOnStart();

        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit reports usage to its authors over the internet unless told not to;
            // this product does not phone home.
            bus.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            bus.ConfigureHealthCheckOptions(o =>
            {
                o.Name = "rabbitmq";
                o.MinimalFailureStatus = HealthStatus.Unhealthy;
                o.Tags.Add(ReadyTag);
            });
            bus.SetKebabCaseEndpointNameFormatter();
            bus.AddConfigureEndpointsCallback((context, _, endpoint) =>
            {
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit
                    && context.GetRequiredService<IOptions<MessagingOptions>>().Value.QueueType == MessagingOptions.Quorum)
                {
                    rabbit.SetQuorumQueue();
                }
            });
            configure?.Invoke(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<ConnectionStringsOptions>>().Value;
                // Publish completes only once the broker confirmed the message: the receiver's 200
                // and the reconciliation's watermark both rely on it.
                rabbit.Host(new Uri(options.RabbitMq!), host => host.PublisherConfirmation = true);
                rabbit.ConfigureEndpoints(context);
            });
        });
        return builder;
    }

    /// <summary>
    /// <c>/health/live</c>: the process answers. <c>/health/ready</c>: its dependencies do too.
    /// <c>/metrics</c>: the metrics in Prometheus' text format. All three only on
    /// <c>Management:Urls</c> when that is set.
    /// </summary>
    public static IEndpointRouteBuilder MapOperationalEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).OnManagementPort();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) }).OnManagementPort();
        app.MapPrometheusScrapingEndpoint().OnManagementPort();
        return app;
    }
}
