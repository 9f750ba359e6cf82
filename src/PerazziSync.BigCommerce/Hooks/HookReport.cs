using System.Text.Json;
using System.Text.Json.Serialization;
using PerazziSync.Contracts;

namespace PerazziSync.BigCommerce.Hooks;

/// <summary>
/// The last check of the store's subscriptions, as every worker's health and metrics show it and
/// the next check carries on from (stored in <c>perazzi_sync.bigcommerce_hook_checks</c>).
/// </summary>
public sealed record HookReport(
    DateTimeOffset CheckedAt,
    string? Destination,
    IReadOnlyList<ScopeStatus> Scopes,
    IReadOnlyList<BlockedStatus> BlockedDomains,
    IReadOnlyList<string> Emails)
{
    static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>How long BigCommerce may take before a hook it just made or re-activated delivers.</summary>
    public static readonly TimeSpan WarmUp = TimeSpan.FromMinutes(1);

    public bool IsWell => Scopes.All(s => s.Problems.Count == 0) && BlockedDomains.Count == 0;

    /// <summary>One line per problem: <c>store/order/created: inactive</c>, <c>hooks.example.com blocked until … (reasons)</c>.</summary>
    public IEnumerable<string> Problems() =>
        Scopes.Where(s => s.Problems.Count > 0).Select(s => $"{s.Scope}: {string.Join(", ", s.Problems)}")
            .Concat(BlockedDomains.Select(b => $"{b.Domain} blocked until {b.BlockedUntil:yyyy-MM-dd HH:mm:ss} UTC" +
                (b.Reasons.Count > 0 ? $" ({string.Join("; ", b.Reasons)})" : "")));

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static HookReport FromJson(string json) => JsonSerializer.Deserialize<HookReport>(json, Options)!;

    /// <summary>
    /// The report after a check that <paramref name="found"/> the subscriptions as they were and
    /// left them as in <paramref name="after"/> (its own re-activations or corrections), and the
    /// gaps the reconciliation must cover: for each scope whose deliveries stopped, from when it
    /// went quiet (see <see cref="QuietSince"/>), once when it is found quiet and once when it
    /// delivers again, so no change in between is lost.
    /// </summary>
    /// <param name="failures">Scopes BigCommerce reported it could not deliver (delivery exceptions), with when.</param>
    public static (HookReport Report, IReadOnlyList<ReconcileGap> Gaps) Next(
        HookReport? previous, HookReview found, HookReview after, IReadOnlyDictionary<string, DateTimeOffset> failures, DateTimeOffset now)
    {
        var gaps = new List<ReconcileGap>();
        var scopes = new List<ScopeStatus>();
        foreach (var was in found.Scopes)
        {
            var before = previous?.Scopes.FirstOrDefault(s => s.Scope == was.Scope);
            var isNow = after[was.Scope];
            var failedAt = failures.TryGetValue(was.Scope, out var at) ? at : (DateTimeOffset?)null;
            var quietBefore = before?.QuietSince;
            var quiet = quietBefore;
            var opened = false;
            // A gap ends when the scope delivers again, which BigCommerce takes up to a minute to
            // do after a hook is made or re-activated; one that is still quiet ends for now, and
            // what changes later is after the reconciliation's watermark anyway.
            var until = isNow.Delivers ? now + WarmUp : now;
            if (!was.Delivers || failedAt is not null)
            {
                var since = QuietSince(before, was, failedAt, now);
                if (quietBefore is null || since < quietBefore || isNow.Delivers)
                {
                    gaps.Add(new ReconcileGap(was.Scope, since, until));
                    opened = true;
                }
                quiet = since;
            }
            if (isNow.Delivers)
            {
                if (quietBefore is { } ended && !opened)
                {
                    // Quiet at an earlier check, delivering again now: the whole gap once more.
                    gaps.Add(new ReconcileGap(was.Scope, ended, until));
                }
                quiet = null;
            }
            scopes.Add(new ScopeStatus(
                was.Scope,
                isNow.State,
                isNow.Hook?.Id,
                isNow.Problems,
                HealthyAt: isNow.Delivers ? now : before?.HealthyAt,
                QuietSince: quiet));
        }
        var report = new HookReport(
            now,
            after.Expected.Destination?.AbsoluteUri,
            scopes,
            after.BlockedDomains.Select(b => new BlockedStatus(
                b.Host, now + b.TimeLeft, b.Reasons.Select(r => $"{r.Description} ×{r.Count}").ToList())).ToList(),
            after.Emails);
        var perEntity = gaps
            .Where(g => BigCommerceScopes.EntityType(g.Scope) is not null)
            .GroupBy(g => BigCommerceScopes.EntityType(g.Scope)!)
            .Select(g => new ReconcileGap(g.MinBy(gap => gap.Since)!.Scope, g.Min(gap => gap.Since), g.Max(gap => gap.Until)))
            .ToList();
        return (report, perEntity);
    }

    /// <summary>
    /// When a scope stopped delivering, as early as the evidence allows: the last check that
    /// found it delivering (or, never seen so, when BigCommerce last changed its hook), the first
    /// failure BigCommerce reported for it, the failures that got its domain blocked.
    /// </summary>
    static DateTimeOffset QuietSince(ScopeStatus? before, ScopeFinding was, DateTimeOffset? failedAt, DateTimeOffset now)
    {
        var evidence = new List<DateTimeOffset?>
        {
            before?.QuietSince ?? before?.HealthyAt ?? was.Hook?.UpdatedAt,
            failedAt,
        };
        evidence.AddRange(was.Blocked?.Reasons.Select(r => r.At) ?? []);
        return evidence.OfType<DateTimeOffset>().Where(t => t <= now).DefaultIfEmpty(now).Min();
    }
}

/// <summary>One scope as the last check left it.</summary>
/// <param name="State"><c>active</c>, <c>inactive</c> or <c>missing</c>.</param>
/// <param name="HealthyAt">The last check that found its callbacks delivered to the product.</param>
/// <param name="QuietSince">While its deliveries are stopped: since when.</param>
public sealed record ScopeStatus(
    string Scope, string State, long? HookId, IReadOnlyList<string> Problems, DateTimeOffset? HealthyAt, DateTimeOffset? QuietSince);

/// <summary>A domain of the product's hooks BigCommerce blocks, and why.</summary>
public sealed record BlockedStatus(string Domain, DateTimeOffset BlockedUntil, IReadOnlyList<string> Reasons);

/// <summary>
/// Changes of <see cref="EntityType"/> since <see cref="Since"/> the reconciliation must list,
/// whatever its watermark, until a listing that began after <see cref="Until"/> has done so.
/// </summary>
public sealed record ReconcileGap(string Scope, DateTimeOffset Since, DateTimeOffset Until)
{
    /// <summary><c>order</c> or <c>customer</c>.</summary>
    public string EntityType => BigCommerceScopes.EntityType(Scope) ?? "";
}
