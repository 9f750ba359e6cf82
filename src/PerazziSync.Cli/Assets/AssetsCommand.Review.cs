using System.CommandLine;
using System.Globalization;
using Dapper;
using Npgsql;
using Spectre.Console;

namespace PerazziSync.Cli.Assets;

/// <summary><c>assets review</c>.</summary>
static partial class AssetsCommand
{
    sealed record Claim(
        string Serial, Guid Claimant, string? SignInEmail, bool? SignInConfirmed, string? SelfGivenName,
        string Status, DateTime? ClaimedAt, string? Review, string? Reason);

    sealed record Evidence(string Serial, string WorkOrder, string? Status, DateTime? UpdatedAt, string? CustomerEmail, string? CustomerName);

    static Command Review()
    {
        var command = new Command("review",
            "List the claims awaiting verification (assets unverified or pending), oldest first, with their evidence: " +
            "why the claim waits for a person, how long it has been pending, the e-mail the claimant signs in with and whether it is confirmed, " +
            "and the POS records of its serial with the customer e-mails they name. The claimant's display name is their own words, marked self-given.");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            // The sign-in e-mail and its confirmation are GoTrue's; the display name is whatever the claimant wrote.
            const string claims = """
                select a.serial_number as "Serial", a.owner_user_id as "Claimant",
                       u.email as "SignInEmail", u.confirmed as "SignInConfirmed", p.display_name as "SelfGivenName",
                       a.verification_status as "Status", a.created_at as "ClaimedAt", c.status as "Review", c.reason as "Reason"
                from perazzi_assets a
                left join profiles p on p.id = a.owner_user_id
                left join perazzi_sync.asset_claims c on c.asset_id = a.id
                left join lateral perazzi_sync.claimant_sign_ins(array[a.owner_user_id]) u on true
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
            var connectionString = CliConfiguration.Load().RequirePostgres(parseResult.InvocationConfiguration.Error);
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
            var table = new Table().AddColumns("serial", "claimant", "sign-in e-mail", "status", "pending for", "review")
                .AddColumn(new TableColumn("POS records").RightAligned())
                .AddColumn("display name");
            foreach (var claim in pending)
            {
                table.AddRow(
                    Markup.Escape(claim.Serial),
                    claim.Claimant.ToString(),
                    Markup.Escape(SignInOf(claim)),
                    Markup.Escape(claim.Status),
                    claim.ClaimedAt is { } at ? Age(now - at) : "-",
                    Markup.Escape(ReviewOf(claim)),
                    records[claim.Serial].Count().ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(claim.SelfGivenName is { } name ? $"self-given: \"{name}\"" : "-"));
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
                        record.UpdatedAt is { } updated ? CliConsole.Time(updated) : "-",
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

    /// <summary>The claimant's sign-in e-mail as GoTrue holds it, and whether they have proved it is theirs.</summary>
    static string SignInOf(Claim claim) => claim.SignInEmail switch
    {
        null => "- (no sign-in e-mail)",
        var email => claim.SignInConfirmed == true ? $"{email} (confirmed)" : $"{email} (not confirmed)",
    };

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
