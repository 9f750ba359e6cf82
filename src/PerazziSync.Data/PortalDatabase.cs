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
        builder.Services.AddSingleton(sp =>
            NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<PortalDatabaseOptions>>().Value.Postgres!));
        builder.Services.AddHealthChecks().AddNpgSql(
            sp => sp.GetRequiredService<IOptions<PortalDatabaseOptions>>().Value.Postgres!,
            name: "postgres",
            tags: [Telemetry.ReadyTag]);
        return builder;
    }
}
