using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PerazziSync.Benchmarks;

/// <summary>
/// The OTLP/HTTP endpoint of a collector on loopback, taking every export and keeping only its
/// count: a host under measurement exports its traces as a deployment does, without a
/// collector's own work on the cores it shares.
/// </summary>
sealed class OtlpSink : IAsyncDisposable
{
    readonly WebApplication _app;
    long _traceExports;
    long _traceBytes;

    OtlpSink(WebApplication app) => _app = app;

    public string Endpoint => _app.Urls.First();

    public long TraceExports => Interlocked.Read(ref _traceExports);

    public long TraceBytes => Interlocked.Read(ref _traceBytes);

    /// <summary>The settings that make a host export to this sink.</summary>
    public IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("OTEL_EXPORTER_OTLP_ENDPOINT", Endpoint),
        new("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ];

    public static async Task<OtlpSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sink = new OtlpSink(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            if (signal == "traces")
            {
                Interlocked.Increment(ref sink._traceExports);
                Interlocked.Add(ref sink._traceBytes, body.Length);
            }
            // An empty Export…ServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return sink;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
