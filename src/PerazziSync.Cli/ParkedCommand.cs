using System.CommandLine;
using System.Globalization;
using Dapper;
using Npgsql;
using Spectre.Console;

namespace PerazziSync.Cli;

static class ParkedCommand
{
    public static Command Create()
    {
        var source = new Option<string?>("--source") { Description = "bigcommerce or perazzi_pos" };
        var reason = new Option<string?>("--reason") { Description = "e.g. guest_order, no_confirmed_portal_user, unknown_serial, asset_not_verified" };
        var all = new Option<bool>("--all") { Description = "include events attributed since" };
        var list = new Command("list", "List parked events: valid events that could not be attributed yet, with their reason.")
        {
            source, reason, all,
        };
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var connectionString = CliConfiguration.Load().Require("ConnectionStrings:Postgres", parseResult.InvocationConfiguration.Error);
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
                    Time(row.FirstSeen), Time(row.LastSeen), row.Resolved is { } resolved ? Time(resolved) : "-");
            }
            console.Write(table);
            console.WriteLine($"{rows.Count} parked event(s).");
            return 0;
        });
        return new Command("parked", "Parked events (SPEC section 7).") { list };
    }

    static string Time(DateTime at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
