using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PerazziSync.ServiceDefaults;

/// <summary>
/// The body of <c>/health/ready</c>: the overall status, then each check's status, description
/// and data, so an operator (or a monitor) reads why a host is degraded, not only that it is.
/// </summary>
static class HealthDetail
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new
                {
                    status = e.Value.Status.ToString(),
                    description = e.Value.Description,
                    data = e.Value.Data.Count == 0 ? null : e.Value.Data.ToDictionary(d => d.Key, d => Value(d.Value)),
                }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }

    /// <summary>A check's datum as JSON when it serialises, else as text: a health answer never fails on its detail.</summary>
    static JsonElement Value(object? value)
    {
        try
        {
            return JsonSerializer.SerializeToElement(value);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or JsonException)
        {
            return JsonSerializer.SerializeToElement(value?.ToString());
        }
    }
}
