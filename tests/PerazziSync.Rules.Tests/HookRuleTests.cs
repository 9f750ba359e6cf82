using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.BigCommerce.Records;
using PerazziSync.Contracts;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>The subscription rules: destinations, what is wrong with a store's hooks, the plan that fixes it, the gaps it leaves.</summary>
public sealed class HookRuleTests
{
    static readonly Uri Destination = new("https://sync.example.com/webhooks/bigcommerce");
    static readonly KeyValuePair<string, string> Shared = new("X-Perazzi-Hook", "secret-value");
    static readonly HookExpectation Expected = new(Destination, Shared);
    static readonly DateTimeOffset T0 = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);
    static readonly HooksAdmin NoAdmin = new([], []);

    static long _ids = 100;

    static BigCommerceHook Hook(string scope, string? destination = null, bool active = true, IReadOnlyDictionary<string, string>? headers = null, DateTimeOffset? updated = null) =>
        new(++_ids, scope, destination ?? Destination.AbsoluteUri, active, headers ?? new Dictionary<string, string> { [Shared.Key] = Shared.Value }, T0.AddDays(-30), updated ?? T0.AddDays(-30));

    static List<BigCommerceHook> Subscribed() => BigCommerceScopes.Subscribed.Select(s => Hook(s)).ToList();

    [Theory]
    [InlineData("https://sync.example.com", "https://sync.example.com/webhooks/bigcommerce")]
    [InlineData("https://sync.example.com/", "https://sync.example.com/webhooks/bigcommerce")]
    [InlineData("https://Sync.Example.com:443/bc/hooks", "https://sync.example.com/bc/hooks")]
    public void A_destination_on_https_port_443_is_taken_with_the_receivers_route_when_it_has_no_path(string given, string taken)
    {
        var (destination, problem) = HookDestination.Parse(given);
        Assert.Null(problem);
        Assert.Equal(taken, destination!.AbsoluteUri);
    }

    [Theory]
    [InlineData("http://sync.example.com/webhooks/bigcommerce", "BigCommerce delivers only over HTTPS")]
    [InlineData("https://sync.example.com:8443/webhooks/bigcommerce", "BigCommerce delivers only to port 443")]
    [InlineData("sync.example.com/webhooks/bigcommerce", "is not an absolute URL")]
    [InlineData("https://user:password@sync.example.com", "no user name or password")]
    [InlineData("", "is not an absolute URL")]
    public void A_destination_BigCommerce_would_refuse_is_refused_with_the_reason(string given, string reason)
    {
        var (destination, problem) = HookDestination.Parse(given);
        Assert.Null(destination);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fully_subscribed_store_is_well_and_its_plan_is_empty()
    {
        var review = HookReview.Of(Subscribed(), NoAdmin, Expected);

        Assert.True(review.IsWell);
        Assert.All(review.Scopes, s => Assert.True(s.Delivers));
        Assert.Empty(HookPlan.For(review));
    }

    [Fact]
    public void Every_problem_is_found_and_planned_away_corrections_and_creations_before_deletions()
    {
        var hooks = Subscribed().Where(h => h.Scope is not ("store/customer/deleted" or "store/hook/deliveryException")).ToList();
        var inactive = hooks[0] = hooks[0] with { IsActive = false };
        var moved = hooks[1] = hooks[1] with { Destination = "https://old.example.com/webhooks/bigcommerce" };
        var headerless = hooks[2] = hooks[2] with { Headers = new Dictionary<string, string> { ["X-Other"] = "kept" } };
        var duplicate = Hook(hooks[3].Scope);
        var foreign = Hook("store/order/created", "https://another-app.example.com/hooks");
        hooks.AddRange([duplicate, foreign]);

        var review = HookReview.Of(hooks, NoAdmin, Expected);

        Assert.False(review.IsWell);
        Assert.Equal([HookProblem.Inactive], review[inactive.Scope].Problems);
        Assert.Equal([HookProblem.WrongDestination], review[moved.Scope].Problems);
        Assert.Equal([HookProblem.WrongHeaders], review[headerless.Scope].Problems);
        Assert.Equal([HookProblem.Duplicate], review[duplicate.Scope].Problems);
        Assert.Equal([HookProblem.Missing], review["store/customer/deleted"].Problems);
        Assert.Equal([foreign], review.Foreign);

        var plan = HookPlan.For(review);

        Assert.Equal(
            [
                (HookChange.Activate, inactive.Scope, (long?)inactive.Id),
                (HookChange.Correct, moved.Scope, moved.Id),
                (HookChange.Correct, headerless.Scope, headerless.Id),
                (HookChange.Create, "store/customer/deleted", null),
                (HookChange.Create, "store/hook/deliveryException", null),
                (HookChange.Delete, duplicate.Scope, duplicate.Id),
            ],
            plan.Select(c => (c.Action, c.Scope, c.Hook?.Id)).ToList());
        Assert.Equal(new HookChanges(IsActive: true), plan[0].Changes);
        Assert.Equal(Destination.AbsoluteUri, plan[1].Changes!.Destination);
        Assert.Null(plan[1].Changes!.Headers);
        Assert.Equal(new Dictionary<string, string> { ["X-Other"] = "kept", [Shared.Key] = Shared.Value }, plan[2].Changes!.Headers);
    }

    [Fact]
    public void Without_a_known_destination_every_hook_of_a_scope_is_the_products_and_none_has_a_wrong_destination()
    {
        var hooks = Subscribed();
        hooks[0] = hooks[0] with { Destination = "https://elsewhere.example.com/in" };

        var review = HookReview.Of(hooks, NoAdmin, new HookExpectation(null, null));

        Assert.True(review.IsWell);
        Assert.Throws<InvalidOperationException>(() => HookPlan.For(review));
    }

    [Fact]
    public void A_blocked_domain_of_the_products_hooks_is_a_problem_another_one_is_not()
    {
        var admin = new HooksAdmin(["ops@example.com"],
        [
            new BlockedDomain("https://sync.example.com", TimeSpan.FromHours(1), [new BlockReason("Non-200 response", 40, T0.AddHours(-3))]),
            new BlockedDomain("another-app.example.com", TimeSpan.FromHours(1), []),
        ]);

        var review = HookReview.Of(Subscribed(), admin, Expected);

        Assert.False(review.IsWell);
        Assert.Equal("sync.example.com", Assert.Single(review.BlockedDomains).Host);
        Assert.Equal("another-app.example.com", Assert.Single(review.OtherBlockedDomains).Host);
        Assert.All(review.Scopes, s => Assert.False(s.Delivers));
    }

    static HookReport Healthy(DateTimeOffset at) =>
        HookReport.Next(null, HookReview.Of(Subscribed(), NoAdmin, Expected), HookReview.Of(Subscribed(), NoAdmin, Expected), new Dictionary<string, DateTimeOffset>(), at).Report;

    [Fact]
    public void A_hook_found_inactive_and_reactivated_leaves_one_gap_from_the_last_healthy_check_until_it_delivers_again()
    {
        var previous = Healthy(T0);
        var hooks = Subscribed();
        var found = HookReview.Of(hooks.Select(h => h.Scope == "store/order/updated" ? h with { IsActive = false } : h).ToList(), NoAdmin, Expected);
        var after = HookReview.Of(hooks, NoAdmin, Expected);
        var now = T0.AddHours(1);

        var (report, gaps) = HookReport.Next(previous, found, after, new Dictionary<string, DateTimeOffset>(), now);

        var gap = Assert.Single(gaps);
        Assert.Equal(("order", T0, now + HookReport.WarmUp), (gap.EntityType, gap.Since, gap.Until));
        Assert.True(report.IsWell);
        Assert.All(report.Scopes, s => Assert.Equal(now, s.HealthyAt));
    }

    [Fact]
    public void A_scope_still_quiet_opens_its_gap_once_and_again_when_it_delivers_after_a_later_fix()
    {
        var previous = Healthy(T0);
        var quiet = HookReview.Of(Subscribed().Where(h => h.Scope != "store/customer/created").ToList(), NoAdmin, Expected);
        var first = HookReport.Next(previous, quiet, quiet, new Dictionary<string, DateTimeOffset>(), T0.AddHours(1));
        var second = HookReport.Next(first.Report, quiet, quiet, new Dictionary<string, DateTimeOffset>(), T0.AddHours(2));
        var fixedMeanwhile = HookReview.Of(Subscribed(), NoAdmin, Expected);
        var third = HookReport.Next(second.Report, fixedMeanwhile, fixedMeanwhile, new Dictionary<string, DateTimeOffset>(), T0.AddHours(3));

        Assert.Equal([("customer", T0, T0.AddHours(1))], first.Gaps.Select(g => (g.EntityType, g.Since, g.Until)));
        Assert.Equal("missing", first.Report.Scopes.Single(s => s.Scope == "store/customer/created").State);
        Assert.Empty(second.Gaps);
        Assert.Equal(T0, second.Report.Scopes.Single(s => s.Scope == "store/customer/created").QuietSince);
        Assert.Equal([("customer", T0, T0.AddHours(3) + HookReport.WarmUp)], third.Gaps.Select(g => (g.EntityType, g.Since, g.Until)));
        Assert.Null(third.Report.Scopes.Single(s => s.Scope == "store/customer/created").QuietSince);
    }

    [Fact]
    public void The_gap_of_a_blocked_domain_begins_at_its_first_failure_and_of_a_hook_never_seen_healthy_at_its_last_change()
    {
        var admin = new HooksAdmin([], [new BlockedDomain("sync.example.com", TimeSpan.FromHours(1), [new BlockReason("timeout", 9, T0.AddHours(-5))])]);
        var blocked = HookReview.Of(Subscribed(), admin, Expected);
        var neverSeen = HookReview.Of(
            Subscribed().Select(h => h.Scope == "store/order/created" ? h with { IsActive = false, UpdatedAt = T0.AddDays(-2) } : h).ToList(), NoAdmin, Expected);

        var (_, blockedGaps) = HookReport.Next(Healthy(T0), blocked, blocked, new Dictionary<string, DateTimeOffset>(), T0.AddHours(1));
        var (_, neverSeenGaps) = HookReport.Next(null, neverSeen, neverSeen, new Dictionary<string, DateTimeOffset>(), T0);

        Assert.Equal([("customer", T0.AddHours(-5)), ("order", T0.AddHours(-5))], blockedGaps.Select(g => (g.EntityType, g.Since)).Order());
        Assert.Equal([("order", T0.AddDays(-2))], neverSeenGaps.Select(g => (g.EntityType, g.Since)));
    }

    [Fact]
    public void A_reported_delivery_failure_of_an_active_hook_opens_a_gap_from_the_failure_when_that_is_earlier()
    {
        var all = HookReview.Of(Subscribed(), NoAdmin, Expected);
        var failures = new Dictionary<string, DateTimeOffset> { ["store/customer/updated"] = T0.AddMinutes(-30) };

        var (report, gaps) = HookReport.Next(Healthy(T0), all, all, failures, T0.AddMinutes(10));

        Assert.Equal([("customer", T0.AddMinutes(-30))], gaps.Select(g => (g.EntityType, g.Since)));
        Assert.True(report.IsWell);
    }

    [Theory]
    [InlineData(-60 * 48, -60 * 48, false)]
    [InlineData(-60 * 49, -60 * 49, false)]
    [InlineData(-60 * 49 - 1, -60 * 49, true)]
    [InlineData(-60 * 24 * 365 * 56, -60 * 49, true)]
    public void A_delivery_exception_s_failure_is_dated_no_earlier_than_49_hours_before_it_arrived(int createdMinutes, int failedMinutes, bool bounded)
    {
        var trigger = HookCheckTrigger.DeliveryException(7, 90001, T0.AddMinutes(createdMinutes), T0, null, out var wasBounded);

        Assert.Equal(T0.AddMinutes(failedMinutes), trigger.FailedAt);
        Assert.Equal(bounded, wasBounded);
        Assert.Equal((7L, T0, "delivery_exception"), (trigger.FailedHookId!.Value, trigger.NotBefore!.Value, trigger.Name));
    }

    [Fact]
    public void A_hook_never_seen_delivering_changed_in_1970_and_a_block_for_failures_of_1970_open_gaps_from_49_hours_before_the_check()
    {
        var epoch = DateTimeOffset.UnixEpoch.AddDays(1);
        var neverSeen = HookReview.Of(
            Subscribed().Select(h => h.Scope == "store/order/created" ? h with { IsActive = false, UpdatedAt = epoch } : h).ToList(), NoAdmin, Expected);
        var admin = new HooksAdmin([], [new BlockedDomain("sync.example.com", TimeSpan.FromHours(1), [new BlockReason("timeout", 9, epoch)])]);
        var blocked = HookReview.Of(Subscribed(), admin, Expected);

        var (_, neverSeenGaps) = HookReport.Next(null, neverSeen, neverSeen, new Dictionary<string, DateTimeOffset>(), T0);
        var (_, blockedGaps) = HookReport.Next(Healthy(T0), blocked, blocked, new Dictionary<string, DateTimeOffset>(), T0.AddHours(1));

        Assert.Equal([("order", T0.AddHours(-49), new BoundedDate(BoundedDate.HookUpdatedAt, epoch))],
            neverSeenGaps.Select(g => (g.EntityType, g.Since, g.Bounded)));
        Assert.Equal([("customer", T0.AddHours(-48), new BoundedDate(BoundedDate.BlockedDomain, epoch)), ("order", T0.AddHours(-48), new BoundedDate(BoundedDate.BlockedDomain, epoch))],
            blockedGaps.Select(g => (g.EntityType, g.Since, g.Bounded)).OrderBy(g => g.EntityType, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(90002, null, -60 * 48 - 4)]
    [InlineData(90002, -60 * 50, -60 * 48 - 4)]
    [InlineData(90002, -60, -60)]
    [InlineData(90002, 1, 0)]
    [InlineData(90001, null, 0)]
    [InlineData(90003, -60 * 50, 0)]
    public void Retries_exhausted_date_the_failure_back_by_the_retry_window_unless_a_healthy_check_is_later(int code, int? healthyMinutes, int sinceMinutes)
    {
        var trigger = HookCheckTrigger.DeliveryException(7, code, T0, T0.AddMinutes(5), null, out _);

        Assert.Equal(T0.AddMinutes(sinceMinutes), trigger.FailedSince(healthyMinutes is { } m ? T0.AddMinutes(m) : null));
    }

    [Fact]
    public void A_delivery_exception_without_a_date_dates_the_failure_at_its_arrival()
    {
        var trigger = HookCheckTrigger.DeliveryException(7, 90001, null, T0, null, out var bounded);

        Assert.Equal(T0, trigger.FailedAt);
        Assert.False(bounded);
    }
}
