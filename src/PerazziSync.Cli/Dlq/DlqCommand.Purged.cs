using System.CommandLine;
using System.Text.Json;
using Dapper;
using Npgsql;
using PerazziSync.Cli.DeadLetters;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary>
/// <c>dlq purged</c> and <c>dlq purged show</c>: the purged messages, each a <c>dlq.purge</c> audit
/// row with its body in <c>perazzi_sync.purged_messages</c>, read with the Cli's login, which owns
/// that table (docs/failures.md).
/// </summary>
static partial class DlqCommand
{
    static Command Purged()
    {
        var queue = new Option<string?>("--queue")
        {
            Description = "Purged from one of the product's input queues (both its _error and _skipped) or one of their dead-letter queues by its full name; default: any",
        };
        var limit = Limit();
        var command = new Command("purged",
            "Purged messages, newest first: when, from which queue, which message, who purged it. Their bodies: dlq purged show.")
        {
            queue, limit, PurgedShow(),
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var named = parseResult.GetValue(queue);
            if (DeadLetterQueues.Named(named) is not { } names)
            {
                error.WriteLine(NotTheProducts(named));
                return 2;
            }
            if (CliConfiguration.Load().RequirePostgres(error) is not { } connectionString)
            {
                return 2;
            }
            const string sql = """
                select a.id, a.created_at as at, a.metadata->>'queue' as queue, a.object_id as messageid,
                       a.metadata->>'message_type' as type, a.metadata->>'source_key' as sourcekey, a.metadata->>'operator' as operator,
                       coalesce(a.metadata->>'exception_type' || ': ', '') || coalesce(a.metadata->>'exception_message', '') as exception,
                       count(*) over () as total
                from audit_log a
                join perazzi_sync.purged_messages p on p.audit_id = a.id
                where a.action = @Action and (@Queues::text[] is null or a.metadata->>'queue' = any(@Queues))
                order by a.created_at desc, a.id
                limit @Limit
                """;
            await using var connection = new NpgsqlConnection(connectionString);
            var rows = (await connection.QueryAsync<PurgedRow>(
                new CommandDefinition(sql, new { Action = DeadLetterAudit.Purge, Queues = string.IsNullOrEmpty(named) ? null : names.ToArray(), Limit = parseResult.GetValue(limit) },
                    cancellationToken: cancellationToken))).AsList();

            var console = CliConsole.Create(parseResult.InvocationConfiguration.Output);
            var table = new Table().AddColumns("purged (UTC)", "audit id", "queue", "message id", "type", "source key", "purged by", "exception");
            foreach (var row in rows)
            {
                table.AddRow(
                    CliConsole.Time(row.At),
                    row.Id.ToString(), Markup.Escape(row.Queue), Markup.Escape(Dash(row.MessageId)), Markup.Escape(Dash(row.Type)),
                    Markup.Escape(Dash(row.SourceKey)), Markup.Escape(Dash(row.Operator)),
                    Markup.Escape(row.Exception.Length > 80 ? row.Exception[..80] + "…" : Dash(row.Exception)));
            }
            console.Write(table);
            var total = rows.Count == 0 ? 0 : rows[0].Total;
            console.WriteLine(total > rows.Count
                ? $"{total} purged message(s); the newest {rows.Count} shown (--limit)."
                : $"{total} purged message(s).");
            return 0;
        });
        return command;
    }

    static Command PurgedShow()
    {
        var id = new Argument<string>("AUDIT-ID") { Description = "The purged message's audit id, as dlq purged prints it" };
        var command = new Command("show",
            "One purged message: its audit row (queue, message id, type, fault, who purged it) and its body exactly as kept " +
            "(the body's JSON, or {\"base64\": the bytes} when the database could not hold it as JSON).")
        {
            id,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            if (!Guid.TryParse(parseResult.GetValue(id), out var auditId))
            {
                error.WriteLine($"{parseResult.GetValue(id)} is not an audit id: dlq purged prints them (a UUID).");
                return 2;
            }
            if (CliConfiguration.Load().RequirePostgres(error) is not { } connectionString)
            {
                return 2;
            }
            const string sql = """
                select a.created_at as at, a.actor_role as actorrole, a.object_id as messageid, a.metadata::text as metadata, p.body::text as body
                from audit_log a
                join perazzi_sync.purged_messages p on p.audit_id = a.id
                where a.id = @Id and a.action = @Action
                """;
            await using var connection = new NpgsqlConnection(connectionString);
            var row = await connection.QuerySingleOrDefaultAsync<PurgedBody>(
                new CommandDefinition(sql, new { Id = auditId, Action = DeadLetterAudit.Purge }, cancellationToken: cancellationToken));
            if (row is null)
            {
                error.WriteLine($"No purged message with audit id {auditId}.");
                return 1;
            }
            var console = CliConsole.Create(parseResult.InvocationConfiguration.Output);
            console.MarkupLineInterpolated($"[bold]{Dash(row.MessageId)}[/] purged at {CliConsole.Time(row.At)} UTC (audit id {auditId})");
            var fields = new Table().AddColumns("field", "value");
            fields.AddRow("actor_role", Markup.Escape(Dash(row.ActorRole)));
            foreach (var (name, value) in JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(row.Metadata)!)
            {
                fields.AddRow(Markup.Escape(name), Markup.Escape(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText()));
            }
            console.Write(fields);
            // As the database returns it: the body's bytes are not kept, only its JSON (or its base64).
            parseResult.InvocationConfiguration.Output.WriteLine(row.Body);
            return 0;
        });
        return command;
    }

    static string Dash(string? text) => string.IsNullOrEmpty(text) ? "-" : text;

    sealed record PurgedRow(Guid Id, DateTime At, string Queue, string MessageId, string? Type, string? SourceKey, string? Operator, string Exception, long Total);

    sealed record PurgedBody(DateTime At, string? ActorRole, string? MessageId, string Metadata, string Body);
}
