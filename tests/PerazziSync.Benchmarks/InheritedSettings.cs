namespace PerazziSync.Benchmarks;

/// <summary>
/// Settings in the benchmark's own environment that would change what the hosts it starts do
/// (tracing, log levels, queue types, the product's sections, the runtime's GC and JIT): removed
/// before any host starts, so that the hosts run with the benchmark's settings and the product's
/// defaults, whatever the shell it was started from had set.
/// </summary>
static class InheritedSettings
{
    static readonly string[] Prefixes =
    [
        "OTEL_", "Logging__", "Messaging__", "BigCommerce__", "Pos__", "Receiver__", "Management__", "Tracing__",
        "ASPNETCORE_", "DOTNET_ENVIRONMENT", "DOTNET_gc", "DOTNET_GC", "DOTNET_Tiered", "DOTNET_TC_", "DOTNET_ReadyToRun", "COMPlus_",
    ];

    /// <summary>Removes them from this process, whose environment every host inherits; returns their names.</summary>
    public static IReadOnlyList<string> Remove()
    {
        var names = Environment.GetEnvironmentVariables().Keys.Cast<object>().Select(k => (string)k)
            .Where(name => Prefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var name in names)
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        return names;
    }
}
