using Microsoft.Extensions.Configuration;

namespace PerazziSync.Cli;

/// <summary>The same keys as the hosts: appsettings.json beside the tool, then environment variables.</summary>
static class CliConfiguration
{
    public static IConfiguration Load() => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .Build();

    /// <summary>The value of <paramref name="key"/>, or null after telling the operator what to set.</summary>
    public static string? Require(this IConfiguration configuration, string key, TextWriter error)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            error.WriteLine($"{key} is not set (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}).");
            return null;
        }
        return value;
    }
}
