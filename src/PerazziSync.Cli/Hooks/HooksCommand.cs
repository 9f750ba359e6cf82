using System.CommandLine;
using System.Globalization;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Data;
using Polly.Timeout;
using Spectre.Console;

namespace PerazziSync.Cli.Hooks;

/// <summary>
/// <c>hooks status | ensure</c>: the store's webhook subscriptions against every scope the
/// receiver handles (docs/subscriptions.md).
/// </summary>
static class HooksCommand
{
    public static Command Create() => new("hooks",
        "The store's webhook subscriptions: every scope the receiver handles, active, pointing at the receiver, once.")
    {
        Status(),
        Ensure(),
    };

    static Option<string?> DestinationOption(string description) => new("--destination") { Description = description };

    static Command Status()
    {
        var destination = DestinationOption(
            "The receiver's public address (https, port 443); default: the one the last `hooks ensure` subscribed the store to");
        var status = new Command("status",
            "Show the subscriptions and BigCommerce's admin view (notification e-mails, blocked domains). " +
            "Exit 0 only when all is well: missing, inactive, wrong destination or headers, duplicates and blocked domains exit 1.")
        {
            destination,
        };
        status.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            using var store = CliStore.Open(CliConfiguration.Load(), error);
            if (store is null)
            {
                return 2;
            }
            await using var connection = await store.Database.OpenConnectionAsync(cancellationToken);
            var recorded = (await HookRows.ReadAsync(connection, store.StoreHash, cancellationToken)).Destination;
            var (expected, refused) = Expectation(parseResult.GetValue(destination) ?? recorded, store);
            if (refused is not null)
            {
                error.WriteLine(refused);
                return 2;
            }
            var review = await ReviewAsync(store, expected!, cancellationToken);
            var console = CliConsole.Create(output);
            Show(console, store.StoreHash, review, recorded is not null && parseResult.GetValue(destination) is null);
            return review.IsWell ? 0 : 1;
        });
        return status;
    }

    static Command Ensure()
    {
        var destination = DestinationOption("The receiver's public address, e.g. https://sync.example.com (https, port 443; /webhooks/bigcommerce is added when no path is given)");
        destination.Required = true;
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan; change nothing" };
        var operatorName = OperatorAudit.Option();
        var ensure = new Command("ensure",
            "Create the missing subscriptions, re-activate inactive ones, correct destination and headers (the shared header when " +
            "configured) and delete duplicates pointing at the receiver. A second run changes nothing. Each change gets an audit row (hooks.*).")
        {
            destination, dryRun, operatorName,
        };
        ensure.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var configuration = CliConfiguration.Load();
            var (expected, refused) = Expectation(parseResult.GetValue(destination), null);
            if (refused is not null)
            {
                // Before any call: BigCommerce would refuse it anyway.
                error.WriteLine($"Refused: {refused}.");
                return 2;
            }
            using var store = CliStore.Open(configuration, error);
            if (store is null)
            {
                return 2;
            }
            expected = expected! with { SharedHeader = store.Options.SharedHeader };
            var console = CliConsole.Create(output);

            if (parseResult.GetValue(dryRun))
            {
                var plan = HookPlan.For(await ReviewAsync(store, expected, cancellationToken));
                ShowPlan(console, plan);
                console.WriteLine(plan.Count == 0 ? "Nothing to change." : $"Dry run: {plan.Count} change(s) planned, none made.");
                return 0;
            }

            var audit = OperatorAudit.From(parseResult, operatorName);
            // One writer of the subscriptions at a time: the worker's check waits meanwhile.
            await using var watch = await EntityLock.AcquireAsync(
                store.Database, $"bigcommerce:{store.StoreHash}:hooks", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken);
            var startedAt = DateTimeOffset.UtcNow;
            var found = await ReviewAsync(store, expected, cancellationToken);
            var changes = HookPlan.For(found);
            ShowPlan(console, changes);
            var made = 0;
            try
            {
                foreach (var planned in changes)
                {
                    var (change, result) = await ApplyAsync(store, expected, planned, console, cancellationToken);
                    await using var transaction = await ServiceRole.BeginAsync(watch.Connection, null, cancellationToken);
                    // Not cancellable: the change is made, and gets its row.
                    await audit.WriteAsync(transaction, change.Action, HookAudit.ObjectType,
                        [(result.Id.ToString(CultureInfo.InvariantCulture), HookAudit.Metadata(store.StoreHash, change, result))], CancellationToken.None);
                    await transaction.CommitAsync(CancellationToken.None);
                    made++;
                    console.MarkupLineInterpolated($"{change.Action} {change.Scope}: hook {result.Id}");
                }
            }
            catch (BigCommerceRequestException e)
            {
                error.WriteLine($"{e.Message}; {made} change(s) made before it, each audited.");
                return 1;
            }
            await HookRows.RecordDestinationAsync(watch.Connection, store.StoreHash, expected.Destination!, cancellationToken);

            var after = await ReviewAsync(store, expected, cancellationToken);
            var previous = (await HookRows.ReadAsync(watch.Connection, store.StoreHash, cancellationToken)).Report;
            var (report, gaps) = HookReport.Next(previous, found, after, new Dictionary<string, DateTimeOffset>(), DateTimeOffset.UtcNow);
            await HookRows.SaveAsync(watch.Connection, store.StoreHash, startedAt, report, gaps, cancellationToken);

            console.WriteLine(changes.Count == 0
                ? $"Nothing to change: every scope is subscribed, active, at {expected.Destination}."
                : $"{made} change(s) made.");
            if (changes.Any(c => c.Action is HookChange.Create or HookChange.Activate or HookChange.Correct))
            {
                console.WriteLine("BigCommerce may take a minute before a new or re-activated hook delivers; the reconciliation covers that minute.");
            }
            foreach (var blocked in after.BlockedDomains)
            {
                console.WriteLine($"Still blocked by BigCommerce, which alone lifts it: {blocked.Host} for {Duration(blocked.TimeLeft)}.");
            }
            return 0;
        });
        return ensure;
    }

    /// <summary>What the hooks must be, or why the destination cannot be one.</summary>
    static (HookExpectation? Expected, string? Refused) Expectation(string? destination, CliStore? store)
    {
        if (destination is null)
        {
            return (new HookExpectation(null, store?.Options.SharedHeader), null);
        }
        var (url, problem) = HookDestination.Parse(destination);
        return problem is not null ? (null, problem) : (new HookExpectation(url, store?.Options.SharedHeader), null);
    }

    static async Task<HookReview> ReviewAsync(CliStore store, HookExpectation expected, CancellationToken cancellationToken)
    {
        var hooks = await store.Client.ListHooksAsync(cancellationToken);
        var admin = await store.Client.GetHooksAdminAsync(cancellationToken);
        return HookReview.Of(hooks, admin, expected);
    }

    /// <summary>Makes <paramref name="change"/>; returns the change made, which differs when the hook to update was deleted meanwhile.</summary>
    static async Task<(HookChange Change, BigCommerceHook Hook)> ApplyAsync(
        CliStore store, HookExpectation expected, HookChange change, IAnsiConsole console, CancellationToken cancellationToken)
    {
        switch (change.Action)
        {
            case HookChange.Create:
                return (change, await CreateAsync(store, expected, change.Scope, console, cancellationToken));
            case HookChange.Delete:
                await store.Client.DeleteHookAsync(change.Hook!.Id, cancellationToken);
                return (change, change.Hook);
            default:
                if (await store.Client.UpdateHookAsync(change.Hook!.Id, change.Changes!, cancellationToken) is { } updated)
                {
                    return (change, updated);
                }
                // Deleted since the review (by hand, by another integration): the scope has no
                // hook now, so it gets one.
                console.WriteLine($"Hook {change.Hook.Id} ({change.Scope}) was deleted meanwhile: creating the scope's hook instead.");
                var missing = new HookChange(HookChange.Create, change.Scope, null, null, [HookProblem.Missing]);
                return (missing, await CreateAsync(store, expected, change.Scope, console, cancellationToken));
        }
    }

    /// <summary>
    /// Creates the scope's hook. The client does not repeat a POST: one whose answer was lost (a
    /// 5xx of BigCommerce's gateway, a timeout) may have been carried out all the same, and a
    /// second would make two hooks, every callback delivered twice. So the hooks are listed again:
    /// the scope's hook at the destination, when there is one now, is the one this create made
    /// (the plan found none, and the advisory lock keeps other writers out), audited as such. When
    /// there is none the failure stands, and the next run creates it.
    /// </summary>
    static async Task<BigCommerceHook> CreateAsync(
        CliStore store, HookExpectation expected, string scope, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var destination = expected.Destination!;
        try
        {
            return await store.Client.CreateHookAsync(scope, destination.AbsoluteUri, expected.HeadersFor(null), cancellationToken);
        }
        catch (Exception e) when (e is BigCommerceRequestException { IsTransient: true } or HttpRequestException or TimeoutRejectedException)
        {
            var made = (await store.Client.ListHooksAsync(cancellationToken))
                .Where(h => h.Scope == scope && HookDestination.Same(h.Destination, destination))
                .MinBy(h => h.Id);
            if (made is null)
            {
                throw;
            }
            console.WriteLine($"{CliErrors.Describe(e)}; listed again: BigCommerce made hook {made.Id} all the same.");
            return made;
        }
    }

    static void ShowPlan(IAnsiConsole console, IReadOnlyList<HookChange> plan)
    {
        if (plan.Count == 0)
        {
            return;
        }
        var table = new Table().AddColumns("change", "scope", "hook", "why", "sets");
        foreach (var change in plan)
        {
            var sets = change.Changes is { } c
                ? string.Join(", ", new[]
                {
                    c.IsActive is { } active ? $"is_active={(active ? "true" : "false")}" : null,
                    c.Destination is { } d ? $"destination={d}" : null,
                    c.Headers is not null ? "headers (shared header)" : null,
                }.OfType<string>())
                : change.Action == HookChange.Create ? "new, active" : "-";
            table.AddRow(
                Markup.Escape(change.Action), Markup.Escape(change.Scope),
                change.Hook?.Id.ToString(CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(string.Join(", ", change.Why)), Markup.Escape(sets));
        }
        console.Write(table);
    }

    static void Show(IAnsiConsole console, string storeHash, HookReview review, bool recorded)
    {
        console.WriteLine(review.Expected.Destination is { } destination
            ? $"Store {storeHash}, destination {destination}{(recorded ? " (as hooks ensure subscribed it)" : "")}."
            : $"Store {storeHash}; no destination known (none given, no hooks ensure yet): hooks of the scopes count as the product's whatever their address.");
        var table = new Table().AddColumns("scope", "state", "hook", "destination", "problems");
        foreach (var scope in review.Scopes)
        {
            table.AddRow(
                Markup.Escape(scope.Scope),
                scope.State,
                scope.Hook?.Id.ToString(CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(scope.Hook?.Destination ?? "-"),
                Markup.Escape(scope.Problems.Count == 0 ? "-" : Detail(scope)));
        }
        console.Write(table);
        foreach (var (blocked, ours) in review.BlockedDomains.Select(b => (b, true)).Concat(review.OtherBlockedDomains.Select(b => (b, false))))
        {
            console.WriteLine($"Blocked domain{(ours ? "" : " (not the receiver's)")}: {blocked.Destination}, {Duration(blocked.TimeLeft)} left.");
            foreach (var reason in blocked.Reasons)
            {
                console.WriteLine($"  {reason.Description} ×{reason.Count}{(reason.At is { } at ? $", {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : "")}");
            }
        }
        foreach (var foreign in review.Foreign)
        {
            console.WriteLine($"Not the product's, left alone: hook {foreign.Id} {foreign.Scope} → {foreign.Destination}{(foreign.IsActive ? "" : " (inactive)")}.");
        }
        console.WriteLine(review.Emails.Count > 0
            ? $"BigCommerce tells {string.Join(", ", review.Emails)} when a hook is deactivated or a domain blocked."
            : "No notification e-mails: BigCommerce tells no one when a hook is deactivated or a domain blocked (the worker's check does).");
        // A blocked domain is one problem, however many scopes deliver to it.
        var problems = review.Scopes.Sum(s => s.Problems.Count(p => p != HookProblem.Blocked)) + review.BlockedDomains.Count;
        console.WriteLine(review.IsWell ? "All well." : $"{problems} problem(s).");
    }

    static string Detail(ScopeFinding scope) => string.Join(", ", scope.Problems.Select(problem => problem switch
    {
        HookProblem.Duplicate => $"duplicate (hooks {string.Join(", ", scope.Duplicates.Select(d => d.Id))})",
        HookProblem.Blocked => $"blocked ({scope.Blocked!.Host}, {Duration(scope.Blocked.TimeLeft)} left)",
        _ => problem,
    }));

    static string Duration(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
        : span.TotalMinutes >= 1 ? $"{span.Minutes} min {span.Seconds} s"
        : $"{span.Seconds} s";
}
