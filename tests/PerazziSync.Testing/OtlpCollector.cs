using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PerazziSync.Testing;

/// <summary>
/// An OTLP/HTTP endpoint on loopback, as a collector's would be, counting the trace exports and
/// their bytes and, when asked to, keeping their bodies for a test of what a host exports. The
/// bodies are protobuf: a test looks for the strings a span carries (its name, its attributes'
/// values) among their bytes.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly bool _keepBodies;
    readonly List<byte[]> _traces = [];
    long _traceExports;
    long _traceBytes;

    OtlpCollector(WebApplication app, bool keepBodies)
    {
        _app = app;
        _keepBodies = keepBodies;
    }

    /// <summary>The settings that make a host export here.</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _app.Urls.First(),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
    };

    public long TraceExportCount => Interlocked.Read(ref _traceExports);

    public long TraceBytes => Interlocked.Read(ref _traceBytes);

    public IReadOnlyList<byte[]> TraceExports
    {
        get { lock (_traces) { return [.. _traces]; } }
    }

    /// <summary>Whether any trace export holds <paramref name="text"/> (UTF-8).</summary>
    public bool Exported(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return TraceExports.Any(body => body.AsSpan().IndexOf(bytes) >= 0);
    }

    public static async Task<OtlpCollector> StartAsync(bool keepBodies = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var collector = new OtlpCollector(app, keepBodies);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            if (signal == "traces")
            {
                Interlocked.Increment(ref collector._traceExports);
                Interlocked.Add(ref collector._traceBytes, body.Length);
                if (collector._keepBodies)
                {
                    lock (collector._traces)
                    {
                        collector._traces.Add(body.ToArray());
                    }
                }
            }
            // An empty Export…ServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return collector;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
