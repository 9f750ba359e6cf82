using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PerazziSync.Contracts;

namespace PerazziSync.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    /// <summary>How long each check of <c>/health/ready</c> may take before it is reported unhealthy for having timed out.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

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
        // A check waiting on a connection that fell silent (a pooled database connection, say)
        // would hold /health/ready with it; it reports that it did not answer instead.
        builder.Services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                var check = registration.Factory;
                registration.Factory = services => new AnswerWithin(check(services), CheckTimeout);
            }
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
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
                o.Tags.Add(Telemetry.ReadyTag);
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
    /// <c>/health/live</c>: the process answers. <c>/health/ready</c>: its dependencies do too;
    /// 200 when healthy or degraded (working, with something to look at, e.g. a BigCommerce
    /// store not configured yet), 503 when not, with each check's status and description as
    /// JSON. <c>/metrics</c>: the metrics in Prometheus' text format. All three only on
    /// <c>Management:Urls</c> when that is set.
    /// </summary>
    public static IEndpointRouteBuilder MapOperationalEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).OnManagementPort();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(Telemetry.ReadyTag),
            ResponseWriter = HealthDetail.WriteAsync,
        }).OnManagementPort();
        app.MapPrometheusScrapingEndpoint().OnManagementPort();
        return app;
    }
}
