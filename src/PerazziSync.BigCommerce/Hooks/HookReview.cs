using PerazziSync.BigCommerce.Records;
using PerazziSync.Contracts;

namespace PerazziSync.BigCommerce.Hooks;

/// <summary>
/// What the product's hooks must be: every scope the receiver handles, pointing at
/// <see cref="Destination"/> (when known), carrying the shared header (when configured).
/// </summary>
/// <param name="Destination">The receiver's public address; unknown, every hook of a scope counts as the product's.</param>
/// <param name="SharedHeader">The header the receiver accepts instead of a signature; null when none is configured, and then headers are not judged.</param>
public sealed record HookExpectation(Uri? Destination, KeyValuePair<string, string>? SharedHeader)
{
    /// <summary>Whether <paramref name="hook"/> carries the shared header with its value (names in any case).</summary>
    public bool HeadersMatch(BigCommerceHook hook) =>
        SharedHeader is not { } shared
        || hook.Headers.Any(h => string.Equals(h.Key, shared.Key, StringComparison.OrdinalIgnoreCase) && h.Value == shared.Value);

    /// <summary>The hook's headers with the shared header set, the others kept.</summary>
    public IReadOnlyDictionary<string, string> HeadersFor(BigCommerceHook? hook)
    {
        var headers = (hook?.Headers ?? new Dictionary<string, string>())
            .Where(h => SharedHeader is not { } shared || !string.Equals(h.Key, shared.Key, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(h => h.Key, h => h.Value);
        if (SharedHeader is { } header)
        {
            headers[header.Key] = header.Value;
        }
        return headers;
    }
}

/// <summary>The problems a subscription can have, as status, health and metrics name them.</summary>
public static class HookProblem
{
    public const string Missing = "missing";
    public const string Inactive = "inactive";
    public const string WrongDestination = "wrong_destination";
    public const string WrongHeaders = "wrong_headers";
    public const string Duplicate = "duplicate";
    public const string Blocked = "blocked";
}

/// <summary>The product's subscription to one scope.</summary>
/// <param name="Hook">The hook that serves the scope; null when none does.</param>
/// <param name="Duplicates">Further hooks of the scope pointing at the product: each callback would come twice.</param>
/// <param name="Blocked">The blocked domain the hook delivers to, if BigCommerce blocks it.</param>
public sealed record ScopeFinding(
    string Scope,
    BigCommerceHook? Hook,
    IReadOnlyList<BigCommerceHook> Duplicates,
    bool WrongDestination,
    bool WrongHeaders,
    BlockedDomain? Blocked)
{
    /// <summary><c>active</c>, <c>inactive</c> or <c>missing</c>.</summary>
    public string State => Hook is null ? "missing" : Hook.IsActive ? "active" : "inactive";

    public IReadOnlyList<string> Problems
    {
        get
        {
            var problems = new List<string>();
            if (Hook is null)
            {
                problems.Add(HookProblem.Missing);
            }
            else if (!Hook.IsActive)
            {
                problems.Add(HookProblem.Inactive);
            }
            if (WrongDestination)
            {
                problems.Add(HookProblem.WrongDestination);
            }
            if (WrongHeaders)
            {
                problems.Add(HookProblem.WrongHeaders);
            }
            if (Duplicates.Count > 0)
            {
                problems.Add(HookProblem.Duplicate);
            }
            if (Blocked is not null)
            {
                problems.Add(HookProblem.Blocked);
            }
            return problems;
        }
    }

    /// <summary>
    /// Whether BigCommerce delivers this scope's callbacks to the product: a hook, active, at the
    /// product's address, with the header it checks, to a domain not blocked. A duplicate costs a
    /// second delivery, never a lost one.
    /// </summary>
    public bool Delivers => Hook is { IsActive: true } && !WrongDestination && !WrongHeaders && Blocked is null;
}

/// <summary>The store's hooks and admin view held against <see cref="HookExpectation"/>.</summary>
/// <param name="BlockedDomains">Blocked domains the product's hooks deliver to.</param>
/// <param name="OtherBlockedDomains">Blocked domains of the account's other hooks.</param>
/// <param name="Foreign">Hooks of the account that are not the product's: other scopes, other integrations' addresses. Left alone.</param>
public sealed record HookReview(
    HookExpectation Expected,
    IReadOnlyList<ScopeFinding> Scopes,
    IReadOnlyList<BlockedDomain> BlockedDomains,
    IReadOnlyList<BlockedDomain> OtherBlockedDomains,
    IReadOnlyList<string> Emails,
    IReadOnlyList<BigCommerceHook> Foreign)
{
    /// <summary>All is well: every scope served once, as expected, and no domain of the product's blocked.</summary>
    public bool IsWell => Scopes.All(s => s.Problems.Count == 0) && BlockedDomains.Count == 0;

    public ScopeFinding this[string scope] => Scopes.Single(s => s.Scope == scope);

    public static HookReview Of(IReadOnlyList<BigCommerceHook> hooks, HooksAdmin admin, HookExpectation expected)
    {
        var destination = expected.Destination;
        var blocked = admin.BlockedDomains;
        var mine = new HashSet<long>();
        var scopes = new List<ScopeFinding>();
        foreach (var scope in BigCommerceScopes.Subscribed)
        {
            var candidates = hooks
                .Where(h => h.Scope == scope)
                .Where(h => destination is null || HookDestination.Same(h.Destination, destination) || HookDestination.SameRoute(h.Destination, destination))
                // The hook kept is the one closest to what is wanted; the rest are duplicates.
                .OrderByDescending(h => destination is not null && HookDestination.Same(h.Destination, destination))
                .ThenByDescending(h => h.IsActive)
                .ThenByDescending(expected.HeadersMatch)
                .ThenBy(h => h.Id)
                .ToList();
            mine.UnionWith(candidates.Select(h => h.Id));
            var hook = candidates.FirstOrDefault();
            scopes.Add(new ScopeFinding(
                scope,
                hook,
                candidates.Skip(1).ToList(),
                WrongDestination: hook is not null && destination is not null && !HookDestination.Same(hook.Destination, destination),
                WrongHeaders: hook is not null && !expected.HeadersMatch(hook),
                Blocked: hook is null ? null : blocked.FirstOrDefault(b => SameHost(b, HookDestination.Host(hook.Destination)))));
        }
        var productHosts = scopes
            .Where(s => s.Hook is not null).Select(s => HookDestination.Host(s.Hook!.Destination))
            .Append(destination?.Host)
            .OfType<string>()
            .ToList();
        var ours = blocked.Where(b => productHosts.Any(host => SameHost(b, host))).ToList();
        return new HookReview(
            expected,
            scopes,
            ours,
            blocked.Except(ours).ToList(),
            admin.Emails,
            hooks.Where(h => !mine.Contains(h.Id)).ToList());
    }

    static bool SameHost(BlockedDomain domain, string? host) =>
        host is not null && string.Equals(domain.Host, host, StringComparison.OrdinalIgnoreCase);
}
