using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PerazziSync.BigCommerce.Api;
using PerazziSync.Contracts;

namespace PerazziSync.BigCommerce.Hooks;

public static class HookWatchExtensions
{
    /// <summary>
    /// The subscriptions in the worker's <c>/health/ready</c> and <c>/metrics</c>, and the check
    /// that keeps them (<see cref="HookWatch"/>). Without a store, readiness says it waits for one.
    /// </summary>
    public static IHostApplicationBuilder AddHookWatch(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<HookStatus>();
        builder.Services.AddSingleton<HookWatch>();
        builder.Services.AddHostedService<HookStatusRefresh>();
        builder.Services.AddHealthChecks().AddCheck<HookHealthCheck>("bigcommerce", tags: [Telemetry.ReadyTag]);
        return builder;
    }
}

/// <summary>
/// Degraded, not down, while a subscription is in trouble or no store is configured: the
/// worker still does its work, and a scope that stopped delivering is healed by the
/// reconciliation; the detail says what to look at.
/// </summary>
sealed class HookHealthCheck(HookStatus status, IOptions<BigCommerceOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (options.Value.WaitsForStore)
        {
            return HealthCheckResult.Degraded(BigCommerceOptions.WaitingForStore);
        }
        HookReport? report;
        try
        {
            report = await status.CurrentAsync(cancellationToken);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            // The database check says the database is down; this one only cannot tell.
            return HealthCheckResult.Degraded("subscriptions unknown: their last check cannot be read", e);
        }
        if (report is null)
        {
            return HealthCheckResult.Healthy("subscriptions not checked yet");
        }
        var data = new Dictionary<string, object>
        {
            ["checked_at"] = report.CheckedAt,
            ["scopes"] = report.Scopes.ToDictionary(s => s.Scope, s => s.Problems.Count == 0 ? s.State : $"{s.State} ({string.Join(", ", s.Problems)})"),
        };
        if (report.BlockedDomains.Count > 0)
        {
            data["blocked_domains"] = report.BlockedDomains;
        }
        return report.IsWell
            ? HealthCheckResult.Healthy($"all {report.Scopes.Count} subscriptions active and delivering", data)
            : HealthCheckResult.Degraded("subscriptions in trouble: " + string.Join("; ", report.Problems()), data: data);
    }
}

/// <summary>
/// Keeps the metrics of a worker that made no check itself up to date with the last check of
/// any, and says at start-up when the worker waits for a store.
/// </summary>
sealed partial class HookStatusRefresh(HookStatus status, IOptions<BigCommerceOptions> options, ILogger<HookStatusRefresh> logger) : BackgroundService
{
    static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.WaitsForStore)
        {
            Waiting(logger, BigCommerceOptions.WaitingForStore);
            return;
        }
        using var timer = new PeriodicTimer(Every);
        do
        {
            try
            {
                await status.CurrentAsync(stoppingToken);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                // The database is away; readiness says so, and the next tick tries again.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(LogLevel.Warning, "BigCommerce: {Reason}; the POS side works")]
    static partial void Waiting(ILogger logger, string reason);
}
