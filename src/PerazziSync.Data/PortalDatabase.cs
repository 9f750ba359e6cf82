using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Contracts;

namespace PerazziSync.Data;

/// <summary>The <c>ConnectionStrings:Postgres</c> setting (environment: <c>ConnectionStrings__Postgres</c>).</summary>
public sealed class PortalDatabaseOptions
{
    public const string Section = "ConnectionStrings";

    /// <summary>Npgsql connection string of the portal database.</summary>
    public string? Postgres { get; set; }
}

public static class PortalDatabase
{
    /// <summary>
    /// Requires <c>ConnectionStrings:Postgres</c> at start-up, registers an <see cref="NpgsqlDataSource"/>
    /// for it and makes readiness depend on the database answering.
    /// </summary>
    public static IHostApplicationBuilder AddPortalDatabase(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PortalDatabaseOptions>()
            .BindConfiguration(PortalDatabaseOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Postgres),
                "ConnectionStrings:Postgres is not set (environment variable ConnectionStrings__Postgres)")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PortalDatabaseOptions>, ReadableConnectionString>();
        builder.Services.AddSingleton(sp =>
            NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<PortalDatabaseOptions>>().Value.Postgres!));
        builder.Services.AddHealthChecks().AddNpgSql(
            sp => sp.GetRequiredService<IOptions<PortalDatabaseOptions>>().Value.Postgres!,
            name: "postgres",
            tags: [Telemetry.ReadyTag]);
        return builder;
    }

    /// <summary>
    /// Why <paramref name="connectionString"/> is not one Npgsql reads (a keyword it does not know,
    /// a value not of its keyword's type, text that is not <c>keyword=value</c> pairs), or null.
    /// The reason names the keyword, never a value: the string holds the password.
    /// </summary>
    public static string? Unreadable(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"ConnectionStrings:Postgres is not an Npgsql connection string: {e.Message}";
        }
    }

    /// <summary>Refuses, at start-up, a <c>ConnectionStrings:Postgres</c> that Npgsql cannot read.</summary>
    sealed class ReadableConnectionString : IValidateOptions<PortalDatabaseOptions>
    {
        public ValidateOptionsResult Validate(string? name, PortalDatabaseOptions options) =>
            string.IsNullOrWhiteSpace(options.Postgres) || Unreadable(options.Postgres) is not { } reason
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(reason);
    }
}
