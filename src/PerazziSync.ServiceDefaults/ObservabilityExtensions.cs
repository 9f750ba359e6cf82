using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PerazziSync.Contracts;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace PerazziSync.ServiceDefaults;

public static class ObservabilityExtensions
{
    /// <summary>
    /// OpenTelemetry for every host: one trace per callback, from the receiver's request through
    /// the MassTransit publish and consume to the worker's BigCommerce calls and SQL statements;
    /// the product's metrics, MassTransit's, ASP.NET Core's, HttpClient's and the .NET runtime's
    /// (collections and heap, thread pool, lock contention, exceptions, methods compiled), scraped at
    /// <c>/metrics</c>. With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, traces, metrics and logs also
    /// go there (the standard <c>OTEL_*</c> variables apply), the traces sampled as the
    /// <c>Tracing</c> section says (<see cref="TraceSampling"/>); without it nothing leaves the process.
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
                .AddMeter("System.Runtime")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());
        builder.Services.AddOptions<TracingOptions>()
            .BindConfiguration(TracingOptions.Section)
            .Validate(o => o.SampleRatio is >= 0 and <= 1, "Tracing:SampleRatio must be from 0 to 1")
            .Validate(o => o.SlowerThan > TimeSpan.Zero, "Tracing:SlowerThan must be a positive duration")
            .ValidateOnStart();
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Signal by signal rather than UseOtlpExporter, which owns the trace exporter: traces
            // pass TraceSampling first. The logs' and metrics' exporters register the options
            // factory (OTEL_* from the configuration) that the trace exporter is built from.
            telemetry
                .WithLogging(logging => logging.AddOtlpExporter())
                .WithMetrics(metrics => metrics.AddOtlpExporter())
                .WithTracing(tracing => tracing.AddProcessor(services => new TraceSampling(
                    new BatchActivityExportProcessor(new OtlpTraceExporter(
                        services.GetRequiredService<IOptionsFactory<OtlpExporterOptions>>().Create(Options.DefaultName))),
                    services.GetRequiredService<IOptions<TracingOptions>>().Value)));
        }
        return builder;
    }

    /// <summary>Health probes and scrapes, which would otherwise be most of the traces.</summary>
    static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal);
}
