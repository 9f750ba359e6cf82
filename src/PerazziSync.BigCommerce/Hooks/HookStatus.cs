using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Contracts;

namespace PerazziSync.BigCommerce.Hooks;

/// <summary>
/// The store's subscriptions as this process shows them in <c>/health/ready</c> and
/// <c>/metrics</c>: the last check's report, whichever worker made it, read from the database
/// at most every few seconds.
/// </summary>
public sealed class HookStatus(NpgsqlDataSource database, IOptions<BigCommerceOptions> options, TimeProvider time)
{
    static readonly TimeSpan Fresh = TimeSpan.FromSeconds(5);
    static readonly string[] States = ["active", "inactive", "missing"];

    readonly Lock _gate = new();
    HookReport? _report;
    DateTimeOffset _readAt = DateTimeOffset.MinValue;

    /// <summary>The last check's report, or null when the store's subscriptions were never checked.</summary>
    public async Task<HookReport?> CurrentAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (time.GetUtcNow() - _readAt < Fresh)
            {
                return _report;
            }
        }
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var stored = await HookRows.ReadAsync(connection, options.Value.StoreHash!, cancellationToken);
        if (stored.Report is { } report)
        {
            Show(report);
        }
        else
        {
            lock (_gate)
            {
                _readAt = time.GetUtcNow();
            }
        }
        return stored.Report;
    }

    /// <summary>Shows <paramref name="report"/> at once: this process made it, or read it.</summary>
    public void Show(HookReport report)
    {
        lock (_gate)
        {
            if (_report is { } shown && shown.CheckedAt > report.CheckedAt)
            {
                return;
            }
            _report = report;
            _readAt = time.GetUtcNow();
        }
        foreach (var scope in report.Scopes)
        {
            foreach (var state in States)
            {
                Telemetry.BigCommerceHooks.Record(state == scope.State ? 1 : 0, new("scope", scope.Scope), new("state", state));
            }
        }
        Telemetry.BigCommerceBlockedDomains.Record(report.BlockedDomains.Count);
    }
}
