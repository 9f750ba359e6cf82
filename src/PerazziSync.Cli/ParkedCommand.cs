using System.CommandLine;
using System.Globalization;
using Dapper;
using Npgsql;
using PerazziSync.Pos.Rows;
using Spectre.Console;

namespace PerazziSync.Cli;

static class ParkedCommand
{
    /// <summary>The source systems events are parked from; any other --source would select nothing, silently.</summary>
    static readonly string[] Sources = ["bigcommerce", "perazzi_pos"];

    public static Command Create()
    {
        var source = new Option<string?>("--source") { Description = "bigcommerce or perazzi_pos" }.AcceptOnlyFromAmong(Sources);
        var reason = new Option<string?>("--reason") { Description = "e.g. guest_order, no_confirmed_portal_user, unknown_serial, asset_not_verified" };
        var all = new Option<bool>("--all") { Description = "include events attributed since" };
        var list = new Command("list", "List parked events: valid events that could not be attributed yet, with their reason.")
        {
            source, reason, all,
        };
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var connectionString = CliConfiguration.Load().RequirePostgres(parseResult.InvocationConfiguration.Error);
            if (connectionString is null)
            {
                return 2;
            }
            const string sql = """
                select source_system, source_key, reason, attempts, first_seen_at, last_seen_at, resolved_at
                from perazzi_sync.parked_events
                where (@Source::text is null or source_system = @Source)
                  and (@Reason::text is null or reason = @Reason)
                  and (@All or resolved_at is null)
                order by first_seen_at
                """;
            await using var connection = new NpgsqlConnection(connectionString);
            var rows = (await connection.QueryAsync<(string Source, string Key, string Reason, int Attempts, DateTime FirstSeen, DateTime LastSeen, DateTime? Resolved)>(
                new CommandDefinition(sql, new
                {
                    Source = parseResult.GetValue(source),
                    Reason = parseResult.GetValue(reason),
                    All = parseResult.GetValue(all),
                }, cancellationToken: cancellationToken))).AsList();

            var console = CliConsole.Create(output);
            var table = new Table().AddColumns("source", "key", "reason")
                .AddColumn(new TableColumn("attempts").RightAligned())
                .AddColumns("first seen (UTC)", "last seen (UTC)", "resolved (UTC)");
            foreach (var row in rows)
            {
                table.AddRow(
                    Markup.Escape(row.Source), Markup.Escape(row.Key), Markup.Escape(row.Reason),
                    row.Attempts.ToString(CultureInfo.InvariantCulture),
                    CliConsole.Time(row.FirstSeen), CliConsole.Time(row.LastSeen), row.Resolved is { } resolved ? CliConsole.Time(resolved) : "-");
            }
            console.Write(table);
            console.WriteLine($"{rows.Count} parked event(s).");
            return 0;
        });
        return new Command("parked", "Parked events: valid events that cannot be attributed yet (docs/failures.md).") { list, Retry() };
    }

    /// <summary>
    /// Re-attempts the selected open parked events now, instead of waiting for the worker's jobs:
    /// POS records are applied here (attached when their serial now has a verified asset, parked
    /// again otherwise); BigCommerce events are sent back to the worker as new deliveries. Each
    /// re-attempt gets an audit row with the operator's identity.
    /// </summary>
    static Command Retry()
    {
        var source = new Option<string?>("--source") { Description = "bigcommerce or perazzi_pos; default both" }.AcceptOnlyFromAmong(Sources);
        var reason = new Option<string?>("--reason") { Description = "only events parked for this reason" };
        var keys = new Option<string[]>("--key") { Description = "source key, e.g. order:218 or WO-2026-0003 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var operatorName = OperatorAudit.Option();
        var retry = new Command("retry",
            "Re-attempt open parked events now. Those still unattributable stay parked, one attempt more. Each gets an audit row (parked.retry).")
        {
            source, reason, keys, operatorName,
        };
        retry.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var configuration = CliConfiguration.Load();
            var connectionString = configuration.RequirePostgres(error);
            var which = parseResult.GetValue(source);
            if (connectionString is null)
            {
                return 2;
            }
            if (which is not (null or "bigcommerce" or ServiceEventRows.SourceSystem))
            {
                error.WriteLine($"--source must be bigcommerce or {ServiceEventRows.SourceSystem}.");
                return 2;
            }
            if (configuration.Pos(error) is not { } pos)
            {
                return 2;
            }
            var selectedKeys = parseResult.GetValue(keys) is { Length: > 0 } k ? k : null;
            var selectedReason = parseResult.GetValue(reason);
            await using var database = NpgsqlDataSource.Create(connectionString);
            var at = DateTimeOffset.UtcNow;
            var deliveryId = $"parked-retry:{at.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}:{Environment.UserName}";
            var parked = new ParkedRetry(database, OperatorAudit.From(parseResult, operatorName), deliveryId, pos.BatchWriteTimeout);

            if (which is null or ServiceEventRows.SourceSystem)
            {
                var outcome = await parked.RetryPosAsync(selectedReason, selectedKeys, cancellationToken);
                output.WriteLine(outcome.Superseded == 0
                    ? $"POS: {outcome.Attached} attached, {outcome.Parked} still parked."
                    : $"POS: {outcome.Attached} attached, {outcome.Parked} still parked, {outcome.Superseded} superseded by a newer version already stored.");
            }
            if (which is null or "bigcommerce")
            {
                var resends = await parked.DueBigCommerceAsync(selectedReason, selectedKeys, at, cancellationToken);
                if (resends.Count > 0)
                {
                    // A broker that cannot be reached is said at once: the bus would retry its
                    // connection for as long as the verb runs.
                    var (probe, exitCode) = await CliBroker.ConnectAsync(configuration, "perazzisync parked retry", error, cancellationToken);
                    if (probe is null)
                    {
                        return exitCode;
                    }
                    await probe.DisposeAsync();
                    await using var bus = await CliBus.StartAsync(configuration, cancellationToken);
                    try
                    {
                        await parked.ResendBigCommerceAsync(bus, resends, cancellationToken);
                    }
                    catch (ParkedRetryException e)
                    {
                        error.WriteLine(e.Message);
                        return 1;
                    }
                }
                output.WriteLine($"BigCommerce: {resends.Count} sent to the worker again; it applies or parks each once more.");
            }
            return 0;
        });
        return retry;
    }

}
