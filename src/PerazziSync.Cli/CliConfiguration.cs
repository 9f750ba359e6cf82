using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using PerazziSync.Data;
using PerazziSync.Pos.Records;

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

    /// <summary><c>ConnectionStrings:Postgres</c>, or null after telling the operator that it is missing or not one Npgsql reads.</summary>
    public static string? RequirePostgres(this IConfiguration configuration, TextWriter error)
    {
        var value = configuration.Require("ConnectionStrings:Postgres", error);
        if (value is not null && PortalDatabase.Unreadable(value) is { } reason)
        {
            error.WriteLine($"{reason}.");
            return null;
        }
        return value;
    }

    /// <summary>
    /// The <c>Pos</c> section, checked as the worker checks it at start-up, or null after telling
    /// the operator which setting is out of range.
    /// </summary>
    public static PosOptions? Pos(this IConfiguration configuration, TextWriter error)
    {
        var options = new PosOptions();
        configuration.GetSection(PosOptions.Section).Bind(options);
        var refused = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), refused, validateAllProperties: true))
        {
            return options;
        }
        foreach (var result in refused)
        {
            error.WriteLine($"{string.Join(", ", result.MemberNames.Select(m => $"{PosOptions.Section}:{m}"))}: {result.ErrorMessage}");
        }
        return null;
    }
}
