using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PerazziSync.Contracts;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace PerazziSync.ServiceDefaults;

public static class ObservabilityExtensions
{
    /// <summary>
    /// OpenTelemetry for every host: one trace per callback, from the receiver's request through
    /// the MassTransit publish and consume to the worker's BigCommerce calls and SQL statements;
    /// the product's metrics, MassTransit's, ASP.NET Core's and HttpClient's, scraped at
    /// <c>/metrics</c>. With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, traces, metrics and logs also
    /// go there (the standard <c>OTEL_*</c> variables apply); without it nothing leaves the process.
    /// </summary>
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName))
            .WithTracing(tracing => tracing
                .AddSource(Telemetry.Name)
                .AddSource(DiagnosticHeaders.DefaultListenerName)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOperational(context.Request.Path))
                .AddHttpClientInstrumentation()
                // Npgsql's own spans, when a host uses the database (PerazziSync.Data).
                .AddSource("Npgsql"))
            .WithMetrics(metrics => metrics
                .AddMeter(Telemetry.Name)
                .AddMeter(InstrumentationOptions.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>Health probes and scrapes, which would otherwise be most of the traces.</summary>
    static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal);
}
