using System.CommandLine;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Rows;

namespace PerazziSync.Cli.Assets;

/// <summary><c>assets verify</c> and <c>assets reject</c>: an operator's decision on a claim (<c>dealer_review</c>).</summary>
static partial class AssetsCommand
{
    static Command Verify()
    {
        var serial = new Argument<string>("SERIAL") { Description = "The claimed gun's serial number (any case, spaces trimmed)" };
        var operatorName = OperatorAudit.Option();
        var command = new Command("verify",
            "Verify a claim after a review (dealer_review): the asset becomes verified and its parked POS records are attached, " +
            "in one transaction with its audit row (asset.verify).")
        {
            serial, operatorName,
        };
        command.SetAction((parseResult, cancellationToken) => DecideAsync(
            parseResult, parseResult.GetValue(serial)!, "verified", null, OperatorAudit.From(parseResult, operatorName), cancellationToken));
        return command;
    }

    static Command Reject()
    {
        var serial = new Argument<string>("SERIAL") { Description = "The claimed gun's serial number (any case, spaces trimmed)" };
        var reason = new Option<string>("--reason") { Description = "Why the claim is rejected; kept in the audit row", Required = true };
        var operatorName = OperatorAudit.Option();
        var command = new Command("reject",
            "Reject a claim after a review (dealer_review): the asset becomes rejected, its POS records stay parked, " +
            "and no POS record changes it again. One audit row (asset.reject) with the reason.")
        {
            serial, reason, operatorName,
        };
        command.SetAction((parseResult, cancellationToken) => DecideAsync(
            parseResult, parseResult.GetValue(serial)!, "rejected", parseResult.GetValue(reason), OperatorAudit.From(parseResult, operatorName),
            cancellationToken));
        return command;
    }

    /// <summary>
    /// Decides the claim on <paramref name="serial"/> in one transaction as the service role: the
    /// asset, its claim in <c>perazzi_sync.asset_claims</c> and, for a verification, its parked
    /// records. The database writes the audit row from the transaction's context, which carries
    /// the operator's identity. Only a claim still awaiting verification is decided.
    /// </summary>
    static async Task<int> DecideAsync(
        ParseResult parseResult, string serial, string decision, string? note, OperatorAudit operatorAudit, CancellationToken cancellationToken)
    {
        const string claim = """
            select id as "Id", serial_number as "Serial", verification_status as "Status", verification_method as "Method"
            from perazzi_assets where serial_number = upper(btrim(@Serial))
            for no key update
            """;
        const string decide = """
            with decided as (
              update perazzi_assets a set
                verification_status = @Decision,
                verification_method = 'dealer_review',
                verified_at = case when @Decision = 'verified' then now() end
              where a.id = @Id and a.verification_status in ('unverified', 'pending')
              returning a.id, a.serial_number, a.owner_user_id
            ), claim as (
              insert into perazzi_sync.asset_claims as c (asset_id, serial_number, claimant_user_id, status, basis, decided_at, decided_by, note)
              select id, serial_number, owner_user_id, @Decision, 'dealer_review', now(), @Operator, @Note from decided
              on conflict (asset_id) do update set
                serial_number = excluded.serial_number,
                claimant_user_id = excluded.claimant_user_id,
                status = excluded.status,
                basis = excluded.basis,
                decided_at = excluded.decided_at,
                decided_by = excluded.decided_by,
                note = excluded.note,
                last_seen_at = now()
            )
            select count(*) from decided
            """;
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var connectionString = CliConfiguration.Load().RequirePostgres(error);
        if (connectionString is null)
        {
            return 2;
        }
        var run = RunId(decision == "verified" ? "verify" : "reject");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await ServiceRole.BeginAsync(
            connection, operatorAudit.Describe(AuditContext.For("operator", deliveryId: run)), cancellationToken);
        var asset = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Serial, string Status, string? Method)?>(
            new CommandDefinition(claim, new { Serial = serial }, transaction, cancellationToken: cancellationToken));
        if (asset is not { } found)
        {
            return NoSuchSerial(error, serial);
        }
        if (found.Status is not ("unverified" or "pending"))
        {
            error.WriteLine($"{found.Serial} is {found.Status}{(found.Method is null ? "" : $" ({found.Method})")}: only a claim awaiting verification is decided here; nothing changed.");
            return 1;
        }
        await connection.ExecuteAsync(new CommandDefinition(decide, new
        {
            found.Id,
            Decision = decision,
            Operator = operatorAudit.Claimed,
            Note = note,
        }, transaction, cancellationToken: cancellationToken));
        long attached = 0;
        if (decision == "verified")
        {
            // The attached records' audit rows name the POS as their source, and this run.
            await ServiceRole.UseAsync(transaction,
                operatorAudit.Describe(AuditContext.For(ServiceEventRows.SourceSystem, deliveryId: run)), cancellationToken);
            attached = await ServiceEventRows.AttachParkedAsync(transaction, [found.Serial], cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        output.WriteLine(decision == "verified"
            ? $"{found.Serial} verified ({VerificationMethods.DealerReview}) as {operatorAudit.Claimed}; {attached} parked POS record(s) attached."
            : $"{found.Serial} rejected ({VerificationMethods.DealerReview}) as {operatorAudit.Claimed}: {note}");
        return 0;
    }
}
