using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.BigCommerce.Hooks;

/// <summary>What started a check of the subscriptions.</summary>
/// <param name="Name"><c>startup</c>, <c>schedule</c> or <c>delivery_exception</c>, recorded in the audit rows of its re-activations.</param>
/// <param name="NotBefore">A check that began reading after this moment has seen what this one would: this one is skipped.</param>
/// <param name="FailedHookId">A hook BigCommerce reported it could not deliver to, and since when (<paramref name="FailedAt"/>).</param>
/// <param name="RetriesExhausted">BigCommerce gave the failed hook's callbacks up (error 90002) at <paramref name="FailedAt"/>.</param>
public sealed record HookCheckTrigger(
    string Name, DateTimeOffset? NotBefore = null, long? FailedHookId = null, DateTimeOffset? FailedAt = null, Guid? MessageId = null,
    bool RetriesExhausted = false)
{
    public static readonly HookCheckTrigger Schedule = new("schedule");

    /// <summary>The check of a worker that started at <paramref name="startedAt"/>.</summary>
    public static HookCheckTrigger AtStart(DateTimeOffset startedAt) => new("startup", NotBefore: startedAt);

    /// <summary>
    /// How long before its arrival a delivery exception can have been made: BigCommerce retries a
    /// callback, this one too, for 48 hours and four minutes before it gives up (docs/subscriptions.md),
    /// and an hour more allows for the clocks.
    /// </summary>
    public static readonly TimeSpan LongestDeliveryDelay = TimeSpan.FromHours(49);

    /// <summary>
    /// The check a <c>store/hook/deliveryException</c> received at <paramref name="receivedAt"/>
    /// asks for: hook <paramref name="hookId"/> failed from <paramref name="createdAt"/> on (its
    /// arrival when it names no time), but never from earlier than
    /// <see cref="LongestDeliveryDelay"/> before it arrived. BigCommerce cannot have sent an older
    /// one; taken as it says, a <c>created_at</c> of 1970 would have the reconciliation list the
    /// store's whole history. <paramref name="bounded"/> says whether it was moved to that bound.
    /// With <paramref name="errorCode"/> 90002 the hook's retries were exhausted at that time
    /// (see <see cref="FailedSince"/>).
    /// </summary>
    public static HookCheckTrigger DeliveryException(
        long hookId, int? errorCode, DateTimeOffset? createdAt, DateTimeOffset receivedAt, Guid? messageId, out bool bounded)
    {
        var earliest = receivedAt - LongestDeliveryDelay;
        bounded = createdAt < earliest;
        return new("delivery_exception", receivedAt, hookId, bounded ? earliest : createdAt ?? receivedAt, messageId, RetriesExhausted: errorCode == 90002);
    }

    /// <summary>
    /// How long BigCommerce retries a callback before it gives up: 48 hours and four minutes
    /// (docs/subscriptions.md).
    /// </summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromHours(48) + TimeSpan.FromMinutes(4);

    /// <summary>
    /// Since when the failed hook's callbacks were not delivered: <see cref="FailedAt"/>, but when
    /// BigCommerce gave them up there (error 90002) it had been retrying them for as long as
    /// <see cref="RetryWindow"/> before, so from that much earlier, unless a check that found the
    /// scope delivering (<paramref name="healthyAt"/>, the last one) is later than that.
    /// </summary>
    public DateTimeOffset? FailedSince(DateTimeOffset? healthyAt)
    {
        if (!RetriesExhausted || FailedAt is not { } exhausted)
        {
            return FailedAt;
        }
        var retried = exhausted - RetryWindow;
        return healthyAt > retried ? (healthyAt < exhausted ? healthyAt : exhausted) : retried;
    }
}

/// <summary>
/// The worker's watch over the store's subscriptions: reads the hooks and the admin view,
/// re-activates the product's deactivated hooks (one audit row each), stores the report every
/// worker shows in its health and metrics, and opens the gaps the reconciliation must cover.
/// Creating and correcting hooks is <c>hooks ensure</c>'s, which an operator runs.
/// </summary>
public sealed partial class HookWatch(
    NpgsqlDataSource database,
    BigCommerceClient bigCommerce,
    HookStatus status,
    IOptions<BigCommerceOptions> options,
    TimeProvider time,
    ILogger<HookWatch> logger)
{
    /// <summary>Checks now, or returns null when a check that began after <see cref="HookCheckTrigger.NotBefore"/> already did.</summary>
    public async Task<HookReport?> CheckAsync(HookCheckTrigger trigger, CancellationToken cancellationToken)
    {
        var store = options.Value.StoreHash!;
        // One check at a time across the workers: two would re-activate the same hook twice.
        await using var watch = await EntityLock.AcquireAsync(database, $"bigcommerce:{store}:hooks", logger, cancellationToken);
        var stored = await HookRows.ReadAsync(watch.Connection, store, cancellationToken);
        if (trigger.NotBefore is { } notBefore && stored.CheckStartedAt > notBefore)
        {
            await RecordFailureAsync(watch.Connection, store, stored.Report, trigger, cancellationToken);
            Coalesced(logger, trigger.Name, stored.CheckStartedAt.Value);
            return null;
        }

        var startedAt = time.GetUtcNow();
        var hooks = await bigCommerce.ListHooksAsync(cancellationToken);
        var admin = await bigCommerce.GetHooksAdminAsync(cancellationToken);
        var expected = new HookExpectation(
            stored.Destination is { } destination ? new Uri(destination) : null, options.Value.SharedHeader);
        var found = HookReview.Of(hooks, admin, expected);

        var now = hooks.ToList();
        var tried = new HashSet<long>();
        while (HookReview.Of(now, admin, expected).Scopes.FirstOrDefault(s => s.Hook is { IsActive: false } hook && !tried.Contains(hook.Id))
               is { Hook: { } inactive } scope)
        {
            tried.Add(inactive.Id);
            var change = new HookChange(HookChange.Activate, scope.Scope, inactive, new HookChanges(IsActive: true), [HookProblem.Inactive]);
            if (await bigCommerce.UpdateHookAsync(inactive.Id, change.Changes!, cancellationToken) is not { } activated)
            {
                // Deleted since it was listed. Not a fault of the check (nor of the delivery
                // exception that asked for it): the scope is judged again on a fresh listing,
                // where another hook may serve it, or it is reported missing for `hooks ensure`.
                Vanished(logger, inactive.Id, scope.Scope);
                now = (await bigCommerce.ListHooksAsync(cancellationToken)).ToList();
                continue;
            }
            now[now.FindIndex(h => h.Id == activated.Id)] = activated;
            var metadata = HookAudit.Metadata(store, change, activated);
            metadata["trigger"] = trigger.Name;
            metadata["message_id"] = trigger.MessageId?.ToString();
            metadata["host"] = Environment.MachineName;
            await using var transaction = await ServiceRole.BeginAsync(watch.Connection, null, cancellationToken);
            await HookAudit.WriteAsync(transaction, HookChange.Activate, activated.Id, metadata, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Reactivated(logger, activated.Id, scope.Scope, trigger.Name);
        }
        var after = HookReview.Of(now, admin, expected);

        var failures = new Dictionary<string, DateTimeOffset>();
        if (trigger.FailedHookId is { } failedHook && hooks.FirstOrDefault(h => h.Id == failedHook) is { } failing)
        {
            var healthyAt = stored.Report?.Scopes.FirstOrDefault(s => s.Scope == failing.Scope)?.HealthyAt;
            failures[failing.Scope] = trigger.FailedSince(healthyAt) ?? startedAt;
        }
        var (report, gaps) = HookReport.Next(stored.Report, found, after, failures, time.GetUtcNow());
        await HookRows.SaveAsync(watch.Connection, store, startedAt, report, gaps, cancellationToken);
        status.Show(report);
        foreach (var gap in gaps)
        {
            GapOpened(logger, gap.EntityType, gap.Since, gap.Scope);
            if (gap.Bounded is { } bounded)
            {
                GapBounded(logger, gap.Scope, bounded.Source, bounded.Given, gap.Since);
                Telemetry.BigCommerceHookGapsBounded.Add(1, new KeyValuePair<string, object?>("source", bounded.Source));
            }
        }
        if (report.IsWell)
        {
            AllWell(logger, store, report.Scopes.Count);
        }
        else
        {
            Trouble(logger, store, string.Join("; ", report.Problems()));
        }
        return report;
    }

    /// <summary>
    /// A delivery failure that a later check already covered still opens its gap: that check saw
    /// the hook, not the callbacks BigCommerce failed to deliver before it.
    /// </summary>
    static async Task RecordFailureAsync(
        NpgsqlConnection connection, string store, HookReport? report, HookCheckTrigger trigger, CancellationToken cancellationToken)
    {
        if (trigger.FailedHookId is not { } hookId || report?.Scopes.FirstOrDefault(s => s.HookId == hookId) is not { } scope)
        {
            return;
        }
        var gap = new ReconcileGap(scope.Scope, trigger.FailedSince(scope.HealthyAt) ?? trigger.NotBefore!.Value, trigger.NotBefore!.Value);
        if (gap.EntityType.Length == 0)
        {
            return;
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ReconcileGaps.OpenAsync(transaction, store, [gap], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    [LoggerMessage(LogLevel.Debug, "Subscription check ({Trigger}) skipped: the check begun at {StartedAt} saw it")]
    static partial void Coalesced(ILogger logger, string trigger, DateTimeOffset startedAt);

    [LoggerMessage(LogLevel.Warning, "Re-activated BigCommerce hook {HookId} ({Scope}), found inactive ({Trigger})")]
    static partial void Reactivated(ILogger logger, long hookId, string scope, string trigger);

    [LoggerMessage(LogLevel.Warning, "BigCommerce hook {HookId} ({Scope}) was deleted before it could be re-activated; the subscriptions are judged again without it")]
    static partial void Vanished(ILogger logger, long hookId, string scope);

    [LoggerMessage(LogLevel.Information, "The next reconciliation lists {EntityType}s from {Since}: {Scope} was quiet")]
    static partial void GapOpened(ILogger logger, string entityType, DateTimeOffset since, string scope);

    [LoggerMessage(LogLevel.Warning, "BigCommerce dates {Scope} quiet from {Given} ({Source}), before it is believed; its gap begins at {Since} instead")]
    static partial void GapBounded(ILogger logger, string scope, string source, DateTimeOffset given, DateTimeOffset since);

    [LoggerMessage(LogLevel.Information, "Store {StoreHash}: all {Scopes} subscriptions active and delivering")]
    static partial void AllWell(ILogger logger, string storeHash, int scopes);

    [LoggerMessage(LogLevel.Warning, "Store {StoreHash} subscriptions: {Problems}")]
    static partial void Trouble(ILogger logger, string storeHash, string problems);
}
