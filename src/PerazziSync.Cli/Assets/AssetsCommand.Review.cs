using System.CommandLine;
using System.Globalization;
using Dapper;
using Npgsql;
using Spectre.Console;

namespace PerazziSync.Cli.Assets;

/// <summary><c>assets review</c>.</summary>
static partial class AssetsCommand
{
    sealed record Claim(string Serial, Guid Claimant, string? ClaimantName, string Status, DateTime? ClaimedAt, string? Review, string? Reason);

    sealed record Evidence(string Serial, string WorkOrder, string? Status, DateTime? UpdatedAt, string? CustomerEmail, string? CustomerName);

    static Command Review()
    {
        var command = new Command("review",
            "List the claims awaiting verification (assets unverified or pending), oldest first, with their evidence: " +
            "why the claim waits for a person, how long it has been pending, and the POS records of its serial with the customer e-mails they name.");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            const string claims = """
                select a.serial_number as "Serial", a.owner_user_id as "Claimant", p.display_name as "ClaimantName",
                       a.verification_status as "Status", a.created_at as "ClaimedAt", c.status as "Review", c.reason as "Reason"
                from perazzi_assets a
                left join profiles p on p.id = a.owner_user_id
                left join perazzi_sync.asset_claims c on c.asset_id = a.id
                where a.verification_status in ('unverified', 'pending')
                order by a.created_at, a.serial_number
                """;
            // The records of a claimed serial are parked until it is verified.
            const string evidence = """
                select upper(btrim(p.message->>'SerialNumber')) as "Serial", p.source_key as "WorkOrder", p.message->>'Status' as "Status",
                       p.source_version as "UpdatedAt", p.message->>'CustomerEmail' as "CustomerEmail", p.message->>'CustomerName' as "CustomerName"
                from perazzi_sync.parked_events p
                where p.source_system = 'perazzi_pos' and p.resolved_at is null
                  and upper(btrim(p.message->>'SerialNumber')) = any(@Serials)
                order by 1, p.source_version desc, p.source_key
                """;
            var connectionString = CliConfiguration.Load().Require("ConnectionStrings:Postgres", parseResult.InvocationConfiguration.Error);
            if (connectionString is null)
            {
                return 2;
            }
            await using var connection = new NpgsqlConnection(connectionString);
            var pending = (await connection.QueryAsync<Claim>(new CommandDefinition(claims, cancellationToken: cancellationToken))).AsList();
            var records = (await connection.QueryAsync<Evidence>(new CommandDefinition(
                evidence, new { Serials = pending.Select(c => c.Serial).ToArray() }, cancellationToken: cancellationToken)))
                .ToLookup(e => e.Serial);
            var now = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition("select now()", cancellationToken: cancellationToken));

            var console = CliConsole.Create(parseResult.InvocationConfiguration.Output);
            var table = new Table().AddColumns("serial", "claimant", "name", "status", "pending for", "review")
                .AddColumn(new TableColumn("POS records").RightAligned());
            foreach (var claim in pending)
            {
                table.AddRow(
                    Markup.Escape(claim.Serial),
                    claim.Claimant.ToString(),
                    Markup.Escape(claim.ClaimantName ?? "-"),
                    Markup.Escape(claim.Status),
                    claim.ClaimedAt is { } at ? Age(now - at) : "-",
                    Markup.Escape(ReviewOf(claim)),
                    records[claim.Serial].Count().ToString(CultureInfo.InvariantCulture));
            }
            console.Write(table);
            var shown = pending.Where(c => records[c.Serial].Any()).ToList();
            if (shown.Count > 0)
            {
                var evidenceTable = new Table().AddColumns("serial", "work order", "status", "updated (UTC)", "customer e-mail", "customer name");
                foreach (var record in shown.SelectMany(c => records[c.Serial]))
                {
                    evidenceTable.AddRow(
                        Markup.Escape(record.Serial),
                        Markup.Escape(record.WorkOrder),
                        Markup.Escape(record.Status ?? "-"),
                        record.UpdatedAt is { } updated ? updated.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-",
                        Markup.Escape(record.CustomerEmail ?? "-"),
                        Markup.Escape(record.CustomerName ?? "-"));
                }
                console.Write(evidenceTable);
            }
            console.WriteLine($"{pending.Count} claim(s) awaiting verification, {pending.Count(c => c.Review == "open")} open for review.");
            console.WriteLine("Decide with: perazzisync assets verify SERIAL --as NAME, or perazzisync assets reject SERIAL --reason TEXT --as NAME.");
            console.WriteLine("A claim on someone else's gun keeps its serial from its owner, rejected or not: free it with perazzisync assets release SERIAL --reason TEXT --as NAME.");
            return 0;
        });
        return command;
    }

    /// <summary>What the sync made of the claim's evidence so far.</summary>
    static string ReviewOf(Claim claim) => claim.Review switch
    {
        null => "no POS record weighed yet",
        "open" => $"open: {claim.Reason}",
        // The asset went back to a claim after a decision (an admin reset it): weighed again at the next record.
        var decided => $"was {decided}; awaiting evidence again",
    };

    static string Age(TimeSpan age) => age.TotalDays >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(age.TotalDays):0} d {age.Hours} h")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(age.TotalHours):0} h {age.Minutes} min");
}
