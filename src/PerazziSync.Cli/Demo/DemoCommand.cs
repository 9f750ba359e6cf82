using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Configuration;
using Npgsql;
using PerazziSync.Data;
using Spectre.Console;
using StandardWebhooks;

namespace PerazziSync.Cli.Demo;

/// <summary>
/// <c>demo</c>: the whole POS path in a minute, on a first run without a store: a portal user
/// and a verified gun, signed POS callbacks through the running receiver, a small export
/// through the drop folder, then the rows and audit entries that resulted. <c>demo remove</c>
/// removes every trace of it (see <see cref="DemoData"/>).
/// </summary>
static class DemoCommand
{
    const string DefaultReceiver = "http://127.0.0.1:8080";
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    public static Command Create()
    {
        var receiver = new Option<string?>("--receiver")
        {
            Description = $"The running receiver; default: the first of RECEIVER_URLS (as deploy/run.sh starts it), else {DefaultReceiver}",
        };
        var operatorName = OperatorAudit.Option();
        var demo = new Command("demo",
            "Seed a demo portal user and verified gun, send signed POS callbacks through the running receiver and an export through " +
            "the drop folder (Pos__WebhookSecret, Pos__DropFolder), and show the rows and audit entries that resulted. " +
            $"Everything is marked (e-mails @{DemoData.EmailDomain}, {DemoData.KeyPrefix} serials and work orders); `demo remove` removes it.")
        {
            receiver, operatorName,
        };
        demo.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, receiver, operatorName, cancellationToken));
        demo.Subcommands.Add(Remove());
        return demo;
    }

    static async Task<int> RunAsync(ParseResult parseResult, Option<string?> receiverOption, Option<string?> operatorName, CancellationToken cancellationToken)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var configuration = CliConfiguration.Load();
        if (configuration.RequirePostgres(error) is not { } connectionString
            || configuration.Require("Pos:WebhookSecret", error) is not { } secret
            || configuration.Require("Pos:DropFolder", error) is not { } dropFolder)
        {
            return 2;
        }
        if (!Directory.Exists(dropFolder))
        {
            error.WriteLine($"Pos:DropFolder {dropFolder} does not exist; it must be the folder the worker polls.");
            return 2;
        }
        var receiver = (parseResult.GetValue(receiverOption)
            ?? configuration["RECEIVER_URLS"]?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
            ?? DefaultReceiver).TrimEnd('/');
        var console = CliConsole.Create(output);
        var run = DateTimeOffset.UtcNow;
        var runId = run.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

        await using var database = NpgsqlDataSource.Create(connectionString);
        var owner = await SeedAsync(database, OperatorAudit.From(parseResult, operatorName), runId, cancellationToken);
        console.WriteLine($"Seeded portal user {DemoData.OwnerEmail} ({owner}) and the verified gun {DemoData.Serial}.");

        // Three versions of one work order, as the workshop moves it along: each sent once the
        // one before it is stored, as hours apart they would be, so each has its audit row (sent
        // together, the worker may write them in one group, where the older ones are stale).
        var versions = new[] { ("received", run.AddHours(-2)), ("in_service", run.AddHours(-1)), ("completed", run) };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var webhook = new StandardWebhook(secret);
        for (var i = 0; i < versions.Length; i++)
        {
            var (status, updatedAt) = versions[i];
            var body = new JsonObject
            {
                ["source_record_id"] = DemoData.CallbackWorkOrder,
                ["serial_number"] = DemoData.Serial,
                ["status"] = status,
                ["service_date"] = Iso(run.AddHours(-2)),
                ["work_summary"] = "PerazziSync demo: annual service (not a real service)",
                ["attachments"] = new JsonArray(),
                ["updated_at"] = Iso(updatedAt),
                ["demo"] = true,
            }.ToJsonString();
            var webhookId = $"{DemoData.DeliveryPrefix}{runId}-{i + 1}";
            using var request = new HttpRequestMessage(HttpMethod.Post, receiver + "/webhooks/pos")
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            var sentAt = DateTimeOffset.UtcNow;
            request.Headers.Add("webhook-id", webhookId);
            request.Headers.Add("webhook-timestamp", sentAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", webhook.Sign(webhookId, sentAt, body));
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                console.WriteLine($"POS callback {webhookId}: {DemoData.CallbackWorkOrder} {status} → {(int)response.StatusCode}");
                if (!response.IsSuccessStatusCode)
                {
                    error.WriteLine($"The receiver at {receiver} refused it: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                    return 1;
                }
            }
            catch (HttpRequestException e)
            {
                error.WriteLine($"Cannot reach the receiver at {receiver} ({e.Message}); start it (deploy/run.sh) or name it with --receiver.");
                return 1;
            }
            if (!await UntilAsync(database, Stored, new { Callback = DemoData.CallbackWorkOrder, Version = Seconds(updatedAt) }, cancellationToken))
            {
                error.WriteLine($"The worker did not apply {DemoData.CallbackWorkOrder} {status} within {Patience.TotalSeconds:0} s: is it running, with the same database?");
                return 1;
            }
        }

        var fileName = $"{DemoData.DeliveryPrefix}{runId}.csv";
        await DropExportAsync(dropFolder, fileName, run, cancellationToken);
        console.WriteLine($"Export {fileName} dropped into {dropFolder}: 3 lines (one applied, one parked for an unknown serial, one rejected).");

        console.WriteLine("Waiting for the worker…");
        if (!await UntilAsync(database, Imported, new { FileName = fileName }, cancellationToken))
        {
            error.WriteLine($"The worker did not apply the demo within {Patience.TotalSeconds:0} s: is it running, with Pos__DropFolder={dropFolder} and the same database?");
            return 1;
        }
        await ShowAsync(console, database, fileName, cancellationToken);
        console.WriteLine("Remove all of it with: perazzisync demo remove");
        return 0;
    }

    static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The demo owner and gun, as the login (the service role may not write <c>auth.users</c>), with a <c>demo.seed</c> audit row.</summary>
    static async Task<Guid> SeedAsync(NpgsqlDataSource database, OperatorAudit audit, string runId, CancellationToken cancellationToken)
    {
        const string seed = """
            insert into auth.users (id, email, email_confirmed_at)
            select @NewId, @Email, now() where not exists (select 1 from auth.users where email = @Email);
            insert into profiles (id, email, display_name, role)
            select id, @Email, 'Demo owner (PerazziSync demo)', 'owner' from auth.users where email = @Email
            on conflict (id) do nothing;
            insert into perazzi_assets (owner_user_id, serial_number, model, platform, verification_status, verification_method, verified_at)
            select id, @Serial, 'MX8 (demo)', 'demo', 'verified', 'demo', now() from auth.users where email = @Email
            on conflict (serial_number) do nothing;
            select id from auth.users where email = @Email;
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var owner = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(seed,
            new { NewId = Guid.NewGuid(), Email = DemoData.OwnerEmail, DemoData.Serial }, transaction, cancellationToken: cancellationToken));
        await audit.WriteAsync(transaction, "demo.seed", "portal_user",
            [(owner.ToString(), new JsonObject
            {
                ["demo"] = true,
                ["email"] = DemoData.OwnerEmail,
                ["serial_number"] = DemoData.Serial,
                ["delivery_id"] = $"{DemoData.DeliveryPrefix}{runId}",
            })], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return owner;
    }

    /// <summary>Written aside as a dot file (the worker ignores those) and renamed into place, so it is taken whole.</summary>
    static async Task DropExportAsync(string dropFolder, string fileName, DateTimeOffset run, CancellationToken cancellationToken)
    {
        var service = Iso(run.AddDays(-1));
        var lines = new[]
        {
            "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at",
            $"{DemoData.ExportWorkOrder},{DemoData.Serial},completed,{service},\"PerazziSync demo: stock refit, grade SC3 (not a real service)\",,{Iso(run)}",
            $"{DemoData.ParkedWorkOrder},{DemoData.UnknownSerial},received,{service},\"PerazziSync demo: a gun the portal does not know yet, parked\",,{Iso(run)}",
            $"{DemoData.RejectedWorkOrder},{DemoData.Serial},shipped,{service},\"PerazziSync demo: a status the POS does not have, rejected\",,{Iso(run)}",
        };
        var aside = Path.Combine(dropFolder, "." + fileName + ".partial");
        await File.WriteAllLinesAsync(aside, lines, cancellationToken);
        File.Move(aside, Path.Combine(dropFolder, fileName));
    }

    const string Stored = """
        select exists (select 1 from service_events where source_system = 'perazzi_pos' and source_record_id = @Callback
                         and source_modified_at >= @Version)
        """;

    const string Imported = "select exists (select 1 from perazzi_sync.pos_imports where file_name = @FileName and status = 'completed')";

    /// <summary>POS versions are stored to the second.</summary>
    static DateTime Seconds(DateTimeOffset at) => DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds()).UtcDateTime;

    /// <summary>Polls <paramref name="query"/> until it answers true, for at most <see cref="Patience"/>.</summary>
    static async Task<bool> UntilAsync(NpgsqlDataSource database, string query, object parameters, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (DateTimeOffset.UtcNow < deadline)
        {
            await using (var connection = await database.OpenConnectionAsync(cancellationToken))
            {
                if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(query, parameters, cancellationToken: cancellationToken)))
                {
                    return true;
                }
            }
            await Task.Delay(250, cancellationToken);
        }
        return false;
    }

    static async Task ShowAsync(IAnsiConsole console, NpgsqlDataSource database, string fileName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var events = await connection.QueryAsync<(string Record, string Serial, string Status, DateTime Version, string Owner)>(new CommandDefinition("""
            select e.source_record_id, a.serial_number, e.status, e.source_modified_at, u.email
            from service_events e join perazzi_assets a on a.id = e.asset_id join auth.users u on u.id = e.owner_user_id
            where e.source_system = 'perazzi_pos' and e.source_record_id like 'DEMO-%' order by e.source_record_id
            """, cancellationToken: cancellationToken));
        var table = new Table().Title("service_events").AddColumns("work order", "serial", "status", "version (UTC)", "owner");
        foreach (var e in events)
        {
            table.AddRow(Markup.Escape(e.Record), Markup.Escape(e.Serial), e.Status, CliConsole.Time(e.Version), Markup.Escape(e.Owner));
        }
        console.Write(table);

        var parked = await connection.QueryAsync<(string Key, string Reason)>(new CommandDefinition(
            "select source_key, reason from perazzi_sync.parked_events where source_key like 'DEMO-%' and resolved_at is null order by source_key",
            cancellationToken: cancellationToken));
        var parkedTable = new Table().Title("perazzi_sync.parked_events").AddColumns("work order", "reason");
        foreach (var p in parked)
        {
            parkedTable.AddRow(Markup.Escape(p.Key), Markup.Escape(p.Reason));
        }
        console.Write(parkedTable);

        var rejected = await connection.QueryAsync<(long Line, string? Record, string Reason)>(new CommandDefinition("""
            select r.line, r.source_record_id, r.reason from perazzi_sync.pos_import_rejections r
            join perazzi_sync.pos_imports i on i.id = r.import_id where i.file_name = @FileName order by r.line
            """, new { FileName = fileName }, cancellationToken: cancellationToken));
        var rejectedTable = new Table().Title($"rejected lines of {fileName}").AddColumns("line", "work order", "reason");
        foreach (var r in rejected)
        {
            rejectedTable.AddRow(r.Line.ToString(CultureInfo.InvariantCulture), Markup.Escape(r.Record ?? "-"), Markup.Escape(r.Reason));
        }
        console.Write(rejectedTable);

        var audit = await connection.QueryAsync<(DateTime At, string Action, string Actor, string? Key, string? Origin)>(new CommandDefinition($"""
            select created_at, action, actor_role, coalesce(metadata->>'source_key', object_id),
                   coalesce(metadata->>'file_name', metadata->>'delivery_id')
            from audit_log where {DemoData.AuditRows} order by created_at, id
            """, cancellationToken: cancellationToken));
        var auditTable = new Table().Title("audit_log").AddColumns("at (UTC)", "action", "actor", "object", "from");
        foreach (var a in audit)
        {
            auditTable.AddRow(CliConsole.Time(a.At), Markup.Escape(a.Action), Markup.Escape(a.Actor), Markup.Escape(a.Key ?? "-"), Markup.Escape(a.Origin ?? "-"));
        }
        console.Write(auditTable);
    }

    static Command Remove()
    {
        var operatorName = OperatorAudit.Option();
        var remove = new Command("remove",
            "Remove everything the demo wrote: its portal user and gun, their service events, parked records, imports, audit rows and " +
            "export files. Nothing without the demo's marks is touched. The removal itself gets one audit row (demo.remove).")
        {
            operatorName,
        };
        remove.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var configuration = CliConfiguration.Load();
            if (configuration.RequirePostgres(error) is not { } connectionString)
            {
                return 2;
            }
            await using var database = NpgsqlDataSource.Create(connectionString);
            var removed = await RemoveRowsAsync(database, OperatorAudit.From(parseResult, operatorName), cancellationToken);
            var files = RemoveFiles(configuration);
            output.WriteLine("Removed " + string.Join(", ", removed.Select(r => $"{r.Key}: {r.Value}")) + $", export files: {files}.");
            return 0;
        });
        return remove;
    }

    /// <summary>
    /// In one transaction, as the login: the owner of the tables, and the one role here that may
    /// delete from <c>auth.users</c>. Deleting the demo's service events writes their own
    /// <c>service_event.delete</c> audit rows, marked like the rest, which go too.
    /// </summary>
    static async Task<Dictionary<string, long>> RemoveRowsAsync(NpgsqlDataSource database, OperatorAudit audit, CancellationToken cancellationToken)
    {
        var steps = new (string What, string Sql)[]
        {
            ("service events", "delete from service_events where source_system = 'perazzi_pos' and source_record_id like 'DEMO-%'"),
            ("parked records", "delete from perazzi_sync.parked_events where source_key like 'DEMO-%'"),
            ("imports", $"delete from perazzi_sync.pos_imports where file_name ~ '{DemoData.FilePattern}'"),
            ("guns", "delete from perazzi_assets where serial_number like 'DEMO-%'"),
            ("profiles", $"delete from profiles where email like '%@{DemoData.EmailDomain}'"),
            ("portal users", $"delete from auth.users where email like '%@{DemoData.EmailDomain}'"),
            ("audit rows", $"delete from audit_log where {DemoData.AuditRows}"),
        };
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "select set_config('perazzi_sync.audit', @Context, true)",
            new { Context = AuditContext.For("perazzi_pos").With("demo", true).ToJson() }, transaction, cancellationToken: cancellationToken));
        var removed = new Dictionary<string, long>();
        foreach (var (what, sql) in steps)
        {
            removed[what] = await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));
        }
        var metadata = new JsonObject();
        foreach (var (what, count) in removed)
        {
            metadata[what.Replace(' ', '_')] = count;
        }
        await audit.WriteAsync(transaction, "demo.remove", "demo", [("demo", metadata)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    /// <summary>The demo's export files the drop folder kept (processed, failed with their error file, or not yet taken); one being imported is left.</summary>
    static int RemoveFiles(IConfiguration configuration)
    {
        if (configuration["Pos:DropFolder"] is not { Length: > 0 } dropFolder || !Directory.Exists(dropFolder))
        {
            return 0;
        }
        var removed = 0;
        foreach (var folder in new[] { dropFolder, Path.Combine(dropFolder, "processed"), Path.Combine(dropFolder, "failed") })
        {
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(folder, DemoData.DeliveryPrefix + "*")
                .Where(f => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(f), DemoData.RunPattern + @"\.csv")))
            {
                File.Delete(file);
                removed++;
            }
        }
        return removed;
    }
}
