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
                var (since, bounded) = QuietSince(before, was, failedAt, now);
                if (quietBefore is null || since < quietBefore || isNow.Delivers)
                {
                    gaps.Add(new ReconcileGap(was.Scope, since, until, bounded));
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
            .Select(g => g.MinBy(gap => gap.Since)! with { Until = g.Max(gap => gap.Until) })
            .ToList();
        return (report, perEntity);
    }

    /// <summary>
    /// When a scope stopped delivering, as early as the evidence allows: the last check that
    /// found it delivering (or, never seen so, when BigCommerce last changed its hook), the first
    /// failure BigCommerce reported for it, the failures that got its domain blocked. The dates
    /// the store gives (the hook's last change, the block's failures) are believed back to
    /// <see cref="HookCheckTrigger.LongestDeliveryDelay"/> before this check and no further, as a
    /// delivery exception's is (docs/subscriptions.md): taken as given, one of 1970 would have the
    /// reconciliation list the store's whole history. Returns, with the start, the date given
    /// when it was moved to that bound.
    /// </summary>
    static (DateTimeOffset Since, BoundedDate? Bounded) QuietSince(ScopeStatus? before, ScopeFinding was, DateTimeOffset? failedAt, DateTimeOffset now)
    {
        var known = before?.QuietSince ?? before?.HealthyAt;
        var given = (was.Blocked?.Reasons.Select(r => r.At) ?? []).OfType<DateTimeOffset>()
            .Select(at => new BoundedDate(BoundedDate.BlockedDomain, at))
            .Concat(known is null && was.Hook?.UpdatedAt is { } updated ? [new BoundedDate(BoundedDate.HookUpdatedAt, updated)] : Array.Empty<BoundedDate>())
            .Where(d => d.Given <= now)
            .MinBy(d => d.Given);
        var earliest = now - HookCheckTrigger.LongestDeliveryDelay;
        var bounded = given?.Given < earliest ? given : null;
        var since = new[] { known, failedAt, bounded is null ? given?.Given : earliest }
            .OfType<DateTimeOffset>().Where(t => t <= now).DefaultIfEmpty(now).Min();
        return (since, since == earliest ? bounded : null);
    }
}

/// <summary>A date the store gave for a quiet scope, earlier than it is believed, and where it was given.</summary>
/// <param name="Source"><see cref="HookUpdatedAt"/> or <see cref="BlockedDomain"/>.</param>
public sealed record BoundedDate(string Source, DateTimeOffset Given)
{
    /// <summary>The <c>updated_at</c> of a hook no check had seen delivering.</summary>
    public const string HookUpdatedAt = "hook_updated_at";

    /// <summary>The <c>timestamp</c> of a failure that got the hook's domain blocked.</summary>
    public const string BlockedDomain = "blocked_domain";
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
/// <see cref="Bounded"/> is the earlier date the store gave, when <see cref="Since"/> is its bound.
/// </summary>
public sealed record ReconcileGap(string Scope, DateTimeOffset Since, DateTimeOffset Until, BoundedDate? Bounded = null)
{
    /// <summary><c>order</c> or <c>customer</c>.</summary>
    public string EntityType => BigCommerceScopes.EntityType(Scope) ?? "";
}
