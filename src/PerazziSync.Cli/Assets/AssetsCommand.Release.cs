using System.CommandLine;
using Dapper;
using Npgsql;
using PerazziSync.Data;

namespace PerazziSync.Cli.Assets;

/// <summary><c>assets release</c>: a claim that is not verified deleted, so that the gun's owner can claim its serial.</summary>
static partial class AssetsCommand
{
    static Command Release()
    {
        var serial = new Argument<string>("SERIAL") { Description = "The claimed gun's serial number (any case, spaces trimmed)" };
        var reason = new Option<string>("--reason") { Description = "Why the claim is released; kept in the audit row", Required = true };
        var operatorName = OperatorAudit.Option();
        var command = new Command("release",
            "Delete a claim that is not verified (unverified, pending or rejected) and has no workshop history, so that the serial " +
            "can be claimed again, e.g. by the gun's owner after someone else registered it. Its POS records stay parked. " +
            "One audit row (asset.release) with the reason.")
        {
            serial, reason, operatorName,
        };
        command.SetAction((parseResult, cancellationToken) => ReleaseAsync(
            parseResult, parseResult.GetValue(serial)!, parseResult.GetValue(reason)!, OperatorAudit.From(parseResult, operatorName),
            cancellationToken));
        return command;
    }

    /// <summary>
    /// Deletes the asset of <paramref name="serial"/> as the service role, if it is a claim: not
    /// verified, no service events. The database writes the audit row from the transaction's
    /// context, which carries the operator's identity and reason.
    /// </summary>
    static async Task<int> ReleaseAsync(
        ParseResult parseResult, string serial, string reason, OperatorAudit operatorAudit, CancellationToken cancellationToken)
    {
        const string claim = """
            select a.id as "Id", a.serial_number as "Serial", a.owner_user_id as "Owner", a.verification_status as "Status"
            from perazzi_assets a where a.serial_number = upper(btrim(@Serial))
            for update of a
            """;
        // Asked once the gun is locked, in a statement of its own: a POS write attaching a service
        // event holds a lock on the gun until it commits, and the locking statement, which waited
        // for it, still counts the events as they were before it waited.
        const string history = "select count(*) from service_events where asset_id = @Id";
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var connectionString = CliConfiguration.Load().RequirePostgres(error);
        if (connectionString is null)
        {
            return 2;
        }
        if (string.IsNullOrWhiteSpace(reason))
        {
            error.WriteLine("--reason must say why the claim is released.");
            return 2;
        }
        var run = RunId("release");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await ServiceRole.BeginAsync(
            connection, operatorAudit.Describe(AuditContext.For("operator", deliveryId: run).With("reason", reason)), cancellationToken);
        var asset = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Serial, Guid Owner, string Status)?>(
            new CommandDefinition(claim, new { Serial = serial }, transaction, cancellationToken: cancellationToken));
        if (asset is not { } found)
        {
            return NoSuchSerial(error, serial);
        }
        if (found.Status == "verified")
        {
            error.WriteLine($"{found.Serial} is verified: only a claim that is not verified is released; nothing changed.");
            return 1;
        }
        var events = await connection.ExecuteScalarAsync<long>(
            new CommandDefinition(history, new { found.Id }, transaction, cancellationToken: cancellationToken));
        if (events > 0)
        {
            error.WriteLine($"{found.Serial} has {events} service event(s), which deleting it would delete: nothing changed.");
            return 1;
        }
        await connection.ExecuteAsync(new CommandDefinition(
            "delete from perazzi_assets where id = @Id", new { found.Id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        output.WriteLine($"{found.Serial} released as {operatorAudit.Claimed}: the {found.Status} claim of user {found.Owner} is deleted, " +
            $"and the serial can be claimed again. {reason}");
        return 0;
    }
}
