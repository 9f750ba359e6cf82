using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;

namespace PerazziSync.BigCommerce.Hooks;

/// <summary>One change <c>hooks ensure</c> makes to the store's hooks; its <see cref="Action"/> names its audit row.</summary>
/// <param name="Hook">The hook changed or deleted; null for one to create.</param>
/// <param name="Changes">For an update, exactly the fields it sets.</param>
/// <param name="Why">The problems it solves, as status names them.</param>
public sealed record HookChange(string Action, string Scope, BigCommerceHook? Hook, HookChanges? Changes, IReadOnlyList<string> Why)
{
    public const string Create = "hooks.create";
    public const string Activate = "hooks.activate";
    public const string Correct = "hooks.correct";
    public const string Delete = "hooks.delete";
}

public static class HookPlan
{
    /// <summary>
    /// What makes <paramref name="review"/> well, as far as the store's hooks can: create what is
    /// missing, re-activate what is inactive, correct destination and headers, delete duplicates
    /// pointing at the product. Blocked domains only BigCommerce lifts. Empty when nothing is to
    /// change, so a second run changes nothing. Corrections and creations come before deletions:
    /// a scope is never left without a hook in between.
    /// </summary>
    public static IReadOnlyList<HookChange> For(HookReview review)
    {
        var expected = review.Expected;
        var destination = expected.Destination
            ?? throw new InvalidOperationException("A plan needs the destination the hooks must point at");
        var plan = new List<HookChange>();
        foreach (var scope in review.Scopes)
        {
            if (scope.Hook is not { } hook)
            {
                plan.Add(new HookChange(HookChange.Create, scope.Scope, null, null, [HookProblem.Missing]));
                continue;
            }
            var changes = new HookChanges(
                IsActive: hook.IsActive ? null : true,
                Destination: scope.WrongDestination ? destination.AbsoluteUri : null,
                Headers: scope.WrongHeaders ? expected.HeadersFor(hook) : null);
            if (changes != new HookChanges())
            {
                var why = scope.Problems.Where(p => p is HookProblem.Inactive or HookProblem.WrongDestination or HookProblem.WrongHeaders).ToList();
                var onlyActivates = changes == new HookChanges(IsActive: true);
                plan.Add(new HookChange(onlyActivates ? HookChange.Activate : HookChange.Correct, scope.Scope, hook, changes, why));
            }
        }
        foreach (var scope in review.Scopes)
        {
            plan.AddRange(scope.Duplicates.Select(duplicate => new HookChange(HookChange.Delete, scope.Scope, duplicate, null, [HookProblem.Duplicate])));
        }
        return plan;
    }
}
