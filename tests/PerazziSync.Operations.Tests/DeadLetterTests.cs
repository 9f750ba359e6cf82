using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using RabbitMQ.Client;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>The dlq verbs on dead letters of known content: selection, order, headers, audit.</summary>
public sealed class DeadLetterTests : IAsyncLifetime
{
    const string Input = Queues.PosServiceRecordReceived;
    const string ErrorQueue = Input + Queues.ErrorSuffix;
    const string OrderErrorQueue = Queues.BigCommerceOrderChanged + Queues.ErrorSuffix;
    static readonly DateTimeOffset Morning = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);

    /// <summary>Each dlq.purge audit row with the body kept for it, as the operator reads them with the Cli's login.</summary>
    const string PurgedBodies = "audit_log a join perazzi_sync.purged_messages b on b.audit_id = a.id where a.action = 'dlq.purge'";

    TestDatabase _database = null!;
    TestVirtualHost _broker = null!;
    Cli _cli = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        _broker = await TestVirtualHost.CreateAsync();
        _cli = new Cli(_database.ConnectionString, _broker.AmqpUri);
        await _broker.DeclareQueueAsync(Input);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>Six dead letters, alternately a check violation and a format error, an hour apart.</summary>
    static List<DeadLetter> Six() => Enumerable.Range(0, 6)
        .Select(i => i % 2 == 0
            ? DeadLetter.Pos($"WO-D-{i}", "Npgsql.PostgresException", "23514: new row violates check constraint", Morning.AddHours(i))
            : DeadLetter.Pos($"WO-D-{i}", "System.FormatException", "updated_at is not a date", Morning.AddHours(i)))
        .ToList();

    [Fact]
    public async Task List_filters_by_queue_type_exception_time_and_id()
    {
        var letters = Six();
        await _broker.DeadLetterAsync(ErrorQueue, letters);
        await _broker.DeadLetterAsync(OrderErrorQueue,
            [new DeadLetter(Guid.NewGuid(), "BigCommerceOrderChanged", "order:218", "PerazziSync.BigCommerce.BigCommercePayloadException", "bad", Morning)]);

        var all = await _cli.RunAsync("dlq", "list");
        Assert.Equal(0, all.ExitCode);
        Assert.Matches($@"{ErrorQueue}\s*│\s*6\b", all.Output);
        Assert.Matches($@"{OrderErrorQueue}\s*│\s*1\b", all.Output);
        Assert.Contains("7 matching message(s).", all.Output, StringComparison.Ordinal);

        Assert.Contains("1 matching", (await _cli.RunAsync("dlq", "list", "--type", "BigCommerceOrderChanged")).Output, StringComparison.Ordinal);
        Assert.Contains("6 matching", (await _cli.RunAsync("dlq", "list", "--queue", Input)).Output, StringComparison.Ordinal);
        var format = await _cli.RunAsync("dlq", "list", "--exception", "formatexception");
        Assert.Contains("3 matching", format.Output, StringComparison.Ordinal);
        Assert.Contains("WO-D-1", format.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("WO-D-0", format.Output, StringComparison.Ordinal);
        var window = await _cli.RunAsync("dlq", "list", "--since", "2026-11-25T09:00Z", "--until", "2026-11-25T11:00Z");
        Assert.Contains("2 matching", window.Output, StringComparison.Ordinal);
        Assert.Contains("WO-D-1", window.Output, StringComparison.Ordinal);
        Assert.Contains("WO-D-2", window.Output, StringComparison.Ordinal);
        var byId = await _cli.RunAsync("dlq", "list", "--id", letters[4].MessageId.ToString());
        Assert.Contains("1 matching", byId.Output, StringComparison.Ordinal);
        Assert.Contains("WO-D-4", byId.Output, StringComparison.Ordinal);

        // Listing moved nothing and kept the order.
        Assert.Equal(letters.Select(l => l.MessageId.ToString()), (await _broker.DrainAsync(ErrorQueue)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task Replay_with_a_filter_moves_only_the_selected_messages_as_first_sent_and_keeps_the_others_in_order()
    {
        var letters = Six();
        await _broker.DeadLetterAsync(ErrorQueue, letters);

        var replay = await HostProcess.RunAsync("PerazziSync.Cli",
            new Dictionary<string, string>(_cli.Environment) { ["PERAZZISYNC_OPERATOR"] = "ops.bruno" },
            "dlq", "replay", "--exception", "FormatException");

        Assert.True(replay.ExitCode == 0, replay.Output);
        Assert.Contains("3 message(s) replayed by ops.bruno", replay.Output, StringComparison.Ordinal);
        var replayed = await _broker.DrainWithHeadersAsync(Input);
        Assert.Equal([letters[1].MessageId.ToString(), letters[3].MessageId.ToString(), letters[5].MessageId.ToString()],
            replayed.Select(m => m.MessageId));
        foreach (var message in replayed)
        {
            Assert.Equal("receiver", message.Headers["x-origin"]);
            Assert.DoesNotContain(message.Headers.Keys, k => k.StartsWith("MT-Fault-", StringComparison.Ordinal)
                || k.StartsWith("MT-Host-", StringComparison.Ordinal) || k == "MT-Reason");
            Assert.Contains("\"sourceRecordId\":\"WO-D-", message.Body, StringComparison.Ordinal);
        }
        Assert.Equal([letters[0].MessageId.ToString(), letters[2].MessageId.ToString(), letters[4].MessageId.ToString()],
            (await _broker.DrainAsync(ErrorQueue)).Select(m => m.MessageId));

        await using var connection = await _database.OpenAsync();
        var audit = (await connection.QueryAsync<(string ObjectId, string Operator, string Queue, string To, string Key)>("""
            select object_id, metadata->>'operator', metadata->>'queue', metadata->>'replayed_to', metadata->>'source_key'
            from audit_log where action = 'dlq.replay' order by metadata->>'source_key'
            """)).ToList();
        Assert.Equal(
            [
                (letters[1].MessageId.ToString(), "ops.bruno", ErrorQueue, Input, "WO-D-1"),
                (letters[3].MessageId.ToString(), "ops.bruno", ErrorQueue, Input, "WO-D-3"),
                (letters[5].MessageId.ToString(), "ops.bruno", ErrorQueue, Input, "WO-D-5"),
            ],
            audit);
    }

    [Fact]
    public async Task Replay_to_a_queue_that_is_gone_fails_clearly_and_keeps_the_message()
    {
        // The dead letters of an input queue that is not there (any more).
        const string orphans = Queues.BigCommerceCustomerChanged + Queues.ErrorSuffix;
        await _broker.DeadLetterAsync(orphans, [DeadLetter.Pos("WO-G-1", "System.FormatException", "bad", Morning)]);

        var replay = await _cli.RunAsync("dlq", "replay", "--queue", orphans);

        Assert.Equal(1, replay.ExitCode);
        Assert.Contains("could not be replayed", replay.Output, StringComparison.Ordinal);
        Assert.Equal(1u, await _broker.MessagesAsync(orphans));
        await using var connection = await _database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from audit_log where action = 'dlq.replay'"));
    }

    [Fact]
    public async Task A_message_that_is_not_a_MassTransit_envelope_is_listed_and_purged_and_refused_by_replay_while_the_others_move()
    {
        const string notUnderstood = "its body is not a MassTransit envelope the Cli understands";
        var typeAsText = DeadLetter.Pos("WO-M-TYPE", "System.Runtime.Serialization.SerializationException", "no envelope", Morning);
        var envelope = JsonNode.Parse(typeAsText.Envelope())!;
        envelope["messageType"] = "urn:message:PerazziSync.Contracts:PosServiceRecordReceived";
        typeAsText = typeAsText with { Body = envelope.ToJsonString() };
        var good = DeadLetter.Pos("WO-M-GOOD", "System.FormatException", "bad", Morning.AddMinutes(1));
        var notJson = DeadLetter.Pos("WO-M-TEXT", "System.Runtime.Serialization.SerializationException", "no envelope", Morning.AddMinutes(2))
            with { Body = "work order WO-M-TEXT, not JSON" };
        await _broker.DeadLetterAsync(ErrorQueue, [typeAsText, good, notJson]);

        var list = await _cli.RunAsync("dlq", "list");
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains("3 matching message(s).", list.Output, StringComparison.Ordinal);
        Assert.Contains(good.MessageId.ToString(), list.Output, StringComparison.Ordinal);
        Assert.Contains($"{typeAsText.MessageId} in {ErrorQueue}: {notUnderstood} (messageType is not a list of type names).", list.Output, StringComparison.Ordinal);
        Assert.Contains($"{notJson.MessageId} in {ErrorQueue}: {notUnderstood} (not JSON).", list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain($"{good.MessageId} in {ErrorQueue}:", list.Output, StringComparison.Ordinal);

        var show = await _cli.RunAsync("dlq", "show", notJson.MessageId.ToString());
        Assert.True(show.ExitCode == 0, show.Output);
        Assert.Contains("work order WO-M-TEXT, not JSON", show.Output, StringComparison.Ordinal);

        var replayGood = await _cli.RunAsync("dlq", "replay", "--id", good.MessageId.ToString());
        Assert.True(replayGood.ExitCode == 0, replayGood.Output);
        Assert.Contains("1 message(s) replayed", replayGood.Output, StringComparison.Ordinal);
        // Everything selected: the two are refused, each with its reason, and stay.
        var replayAll = await _cli.RunAsync("dlq", "replay");
        Assert.True(replayAll.ExitCode == 1, replayAll.Output);
        Assert.Contains("0 message(s) replayed", replayAll.Output, StringComparison.Ordinal);
        Assert.Contains($"Not replayed: {typeAsText.MessageId} in {ErrorQueue}: {notUnderstood}", replayAll.Output, StringComparison.Ordinal);
        Assert.Contains($"Not replayed: {notJson.MessageId} in {ErrorQueue}: {notUnderstood}", replayAll.Output, StringComparison.Ordinal);
        Assert.Equal([good.MessageId.ToString()], (await _broker.DrainAsync(Input)).Select(m => m.MessageId));

        var purge = await _cli.RunAsync("dlq", "purge", "--yes", "--id", typeAsText.MessageId.ToString());
        Assert.True(purge.ExitCode == 0, purge.Output);
        Assert.Equal([notJson.MessageId.ToString()], (await _broker.DrainAsync(ErrorQueue)).Select(m => m.MessageId));
        await using var connection = await _database.OpenAsync();
        var audit = (await connection.QueryAsync<(string Action, string ObjectId)>(
            "select action, object_id from audit_log where actor_role = 'operator' order by action")).ToList();
        Assert.Equal([("dlq.purge", typeAsText.MessageId.ToString()), ("dlq.replay", good.MessageId.ToString())], audit);
    }

    [Fact]
    public async Task Headers_differing_only_in_case_a_timestamp_beyond_the_calendar_and_a_lone_surrogate_in_the_body_stop_no_verb()
    {
        var headers = DeadLetter.Pos("WO-H-1", "System.FormatException", "bad", Morning) with
        {
            OtherHeaders = new Dictionary<string, object?> { ["X-Origin"] = "another app", ["x-sent"] = new AmqpTimestamp(long.MaxValue) },
        };
        var surrogate = DeadLetter.Pos("WO-H-2", "System.FormatException", "bad", Morning);
        surrogate = surrogate with { Body = surrogate.Envelope().Replace("Replaced firing pin spring", @"\ud800", StringComparison.Ordinal) };
        await _broker.DeadLetterAsync(ErrorQueue, [headers, surrogate]);

        var list = await _cli.RunAsync("dlq", "list");
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains("2 matching message(s).", list.Output, StringComparison.Ordinal);
        Assert.Contains("WO-H-1", list.Output, StringComparison.Ordinal);
        Assert.Contains("WO-H-2", list.Output, StringComparison.Ordinal);

        var shownHeaders = await _cli.RunAsync("dlq", "show", headers.MessageId.ToString());
        Assert.True(shownHeaders.ExitCode == 0, shownHeaders.Output);
        Assert.Matches(@"x-origin\s*│\s*receiver", shownHeaders.Output);
        Assert.Matches(@"X-Origin\s*│\s*another app", shownHeaders.Output);
        Assert.Matches($@"x-sent\s*│\s*{long.MaxValue}", shownHeaders.Output);
        var shownSurrogate = await _cli.RunAsync("dlq", "show", surrogate.MessageId.ToString());
        Assert.True(shownSurrogate.ExitCode == 0, shownSurrogate.Output);
        Assert.Contains(@"""workSummary"":""\ud800""", shownSurrogate.Output, StringComparison.Ordinal);

        var replay = await _cli.RunAsync("dlq", "replay");
        Assert.True(replay.ExitCode == 0, replay.Output);
        Assert.Equal([headers.MessageId.ToString(), surrogate.MessageId.ToString()], (await _broker.DrainAsync(Input)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task Purge_needs_confirmation_then_deletes_only_the_selection_and_keeps_each_body_beside_its_audit_row()
    {
        var letters = Six();
        await _broker.DeadLetterAsync(ErrorQueue, letters);

        var unconfirmed = await _cli.RunAsync("dlq", "purge", "--exception", "check constraint");
        Assert.Equal(2, unconfirmed.ExitCode);
        Assert.Contains("--yes", unconfirmed.Output, StringComparison.Ordinal);
        Assert.Equal(6u, await _broker.MessagesAsync(ErrorQueue));

        var purge = await _cli.RunAsync("dlq", "purge", "--exception", "check constraint", "--yes", "--as", "ops.carla");
        Assert.True(purge.ExitCode == 0, purge.Output);
        Assert.Contains("3 message(s) purged by ops.carla", purge.Output, StringComparison.Ordinal);
        Assert.Equal([letters[1].MessageId.ToString(), letters[3].MessageId.ToString(), letters[5].MessageId.ToString()],
            (await _broker.DrainAsync(ErrorQueue)).Select(m => m.MessageId));
        Assert.Equal(0u, await _broker.MessagesAsync(Input));
        await using var connection = await _database.OpenAsync();
        var kept = (await connection.QueryAsync<string>(
            $"select body->'message'->'record'->>'sourceRecordId' from {PurgedBodies} order by 1")).ToList();
        Assert.Equal(["WO-D-0", "WO-D-2", "WO-D-4"], kept);
    }

    [Fact]
    public async Task A_purged_body_naming_the_workshop_customer_is_kept_for_the_operator_and_readable_by_no_portal_admin()
    {
        const string email = "walter.bianchi@example.it";
        const string name = "Walter Bianchi";
        var letter = DeadLetter.Pos("WO-P-1", "System.FormatException", "bad", Morning);
        var envelope = JsonNode.Parse(letter.Envelope())!;
        envelope["message"]!["record"]!["customerEmail"] = email;
        envelope["message"]!["record"]!["customerName"] = name;
        letter = letter with { Body = envelope.ToJsonString() };
        await _broker.DeadLetterAsync(ErrorQueue, [letter]);

        var purge = await _cli.RunAsync("dlq", "purge", "--yes");

        Assert.True(purge.ExitCode == 0, purge.Output);
        await using var connection = await _database.OpenAsync();
        var kept = await connection.QuerySingleAsync<(string ObjectId, string Body)>($"select a.object_id, b.body::text from {PurgedBodies}");
        Assert.Equal(letter.MessageId.ToString(), kept.ObjectId);
        Assert.True(JsonNode.DeepEquals(envelope, JsonNode.Parse(kept.Body)), kept.Body);

        // Every column of every relation a portal admin may select, read as the admin under RLS.
        await PortalUsers.SeedAsync(connection);
        var readable = (await connection.QueryAsync<(string Relation, string Columns)>("""
            select c.oid::regclass::text, string_agg(format('%I::text', a.attname), ', ' order by a.attnum)
            from pg_class c
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where c.relkind in ('r', 'p', 'v', 'm', 'f')
              and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
              and has_schema_privilege('authenticated', c.relnamespace, 'usage')
              and has_column_privilege('authenticated', c.oid, a.attname, 'select')
            group by c.oid
            """)).ToList();
        Assert.Contains(readable, r => r.Relation == "audit_log");
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("set local role authenticated; select set_config('request.jwt.claims', @Claims, true)",
            new { Claims = $$"""{"sub":"{{PortalUsers.Admin}}","role":"authenticated"}""" }, transaction);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'dlq.purge' and object_id = @Id", new { Id = letter.MessageId.ToString() }, transaction));
        var found = new List<string>();
        foreach (var (relation, columns) in readable)
        {
            foreach (var personal in new[] { email, name })
            {
                if (await connection.ExecuteScalarAsync<long>(
                        $"select count(*) from {relation} t where concat_ws(' ', {columns}) ilike '%' || @Personal || '%'",
                        new { Personal = personal }, transaction) > 0)
                {
                    found.Add($"{personal} in {relation}");
                }
            }
        }
        Assert.Empty(found);
        var denied = await Assert.ThrowsAsync<PostgresException>(() =>
            connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.purged_messages", transaction: transaction));
        Assert.Equal("42501", denied.SqlState);
    }

    [Fact]
    public async Task Purge_of_bodies_and_keys_the_database_cannot_store_completes_and_keeps_each_body_exactly()
    {
        var nul = DeadLetter.Pos("WO-N-\0-1", "System.FormatException", "updated_at '\0' is not a date", Morning);
        var surrogate = DeadLetter.Pos("WO-N-2", "System.FormatException", "bad", Morning);
        surrogate = surrogate with { Body = surrogate.Envelope().Replace("Replaced firing pin spring", @"\ud800", StringComparison.Ordinal) };
        var huge = DeadLetter.Pos("WO-N-3", "System.FormatException", "bad", Morning);
        huge = huge with { Body = huge.Envelope().Replace("\"Replaced firing pin spring\"", "1e999999", StringComparison.Ordinal) };
        var good = DeadLetter.Pos("WO-N-4", "System.FormatException", "bad", Morning);
        await _broker.DeadLetterAsync(ErrorQueue, [nul, surrogate, huge, good]);

        var purge = await _cli.RunAsync("dlq", "purge", "--yes");

        Assert.True(purge.ExitCode == 0, purge.Output);
        Assert.Contains("4 message(s) purged", purge.Output, StringComparison.Ordinal);
        Assert.Equal(0u, await _broker.MessagesAsync(ErrorQueue));
        await using var connection = await _database.OpenAsync();
        var rows = (await connection.QueryAsync<(string ObjectId, string Key, string Exception, string? Base64, string? JsonKey)>($"""
            select object_id, metadata->>'source_key', metadata->>'exception_message',
                   body->>'base64', body->'message'->'record'->>'sourceRecordId'
            from {PurgedBodies}
            """)).ToDictionary(r => r.ObjectId);
        Assert.Equal(4, rows.Count);
        // The text is stored with U+FFFD for what the database refuses; the body, exactly, in base64.
        var nulRow = rows[nul.MessageId.ToString()];
        Assert.Equal(("WO-N-\uFFFD-1", "updated_at '\uFFFD' is not a date"), (nulRow.Key, nulRow.Exception));
        Assert.Equal(nul.Envelope(), Encoding.UTF8.GetString(Convert.FromBase64String(nulRow.Base64!)));
        Assert.Equal(surrogate.Body, Encoding.UTF8.GetString(Convert.FromBase64String(rows[surrogate.MessageId.ToString()].Base64!)));
        Assert.Equal(huge.Body, Encoding.UTF8.GetString(Convert.FromBase64String(rows[huge.MessageId.ToString()].Base64!)));
        Assert.Null(rows[good.MessageId.ToString()].Base64);
        Assert.Equal("WO-N-4", rows[good.MessageId.ToString()].JsonKey);
    }

    [Fact]
    public async Task Replay_of_a_key_and_an_exception_the_database_cannot_store_is_audited_once_and_a_second_run_sends_nothing()
    {
        var nul = DeadLetter.Pos("WO-N-\0-5", "System.FormatException", "updated_at '\0' is not a date", Morning);
        var good = DeadLetter.Pos("WO-N-6", "System.FormatException", "bad", Morning);
        await _broker.DeadLetterAsync(ErrorQueue, [nul, good]);

        var replay = await _cli.RunAsync("dlq", "replay");
        var again = await _cli.RunAsync("dlq", "replay");

        Assert.True(replay.ExitCode == 0, replay.Output);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("0 message(s) replayed", again.Output, StringComparison.Ordinal);
        Assert.Equal(0u, await _broker.MessagesAsync(ErrorQueue));
        Assert.Equal([nul.MessageId.ToString(), good.MessageId.ToString()], (await _broker.DrainAsync(Input)).Select(m => m.MessageId));
        await using var connection = await _database.OpenAsync();
        var audit = (await connection.QueryAsync<(string ObjectId, string Key, string Exception)>(
            "select object_id, metadata->>'source_key', metadata->>'exception_message' from audit_log where action = 'dlq.replay'"))
            .OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                (good.MessageId.ToString(), "WO-N-6", "bad"),
                (nul.MessageId.ToString(), "WO-N-\uFFFD-5", "updated_at '\uFFFD' is not a date"),
            ],
            audit);
    }

    [Fact]
    public async Task A_replay_whose_audit_rows_the_database_refuses_takes_the_sent_messages_out_and_names_them_instead_of_sending_them_again()
    {
        List<DeadLetter> letters = [DeadLetter.Pos("WO-A-1", "System.FormatException", "bad", Morning), DeadLetter.Pos("WO-A-2", "System.FormatException", "bad", Morning)];
        await _broker.DeadLetterAsync(ErrorQueue, letters);
        await using (var superuser = await _database.OpenAsSuperuserAsync())
        {
            await superuser.ExecuteAsync("""
                create function refuse_dlq_replay() returns trigger language plpgsql security definer as $$
                begin
                  raise exception 'dlq.replay rows refused';
                end $$;
                create trigger refuse_dlq_replay before insert on audit_log
                  for each row when (new.action = 'dlq.replay') execute function refuse_dlq_replay();
                """);
        }

        var replay = await _cli.RunAsync("dlq", "replay");
        var again = await _cli.RunAsync("dlq", "replay");

        Assert.True(replay.ExitCode == 1, replay.Output);
        Assert.Contains("dlq.replay rows refused", replay.Output, StringComparison.Ordinal);
        Assert.All(letters, l => Assert.Contains(l.MessageId.ToString(), replay.Output, StringComparison.Ordinal));
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("0 message(s) replayed", again.Output, StringComparison.Ordinal);
        Assert.Equal(0u, await _broker.MessagesAsync(ErrorQueue));
        Assert.Equal(letters.Select(l => l.MessageId.ToString()), (await _broker.DrainAsync(Input)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task Purge_at_a_terminal_deletes_the_delivery_it_showed_and_not_one_with_the_same_id_dead_lettered_while_it_asked()
    {
        const string question = "Delete these 1 message(s) for good?";
        var shown = DeadLetter.Pos("WO-S-SHOWN", "System.FormatException", "bad", Morning);
        await _broker.DeadLetterAsync(ErrorQueue, [shown]);

        await using var purge = HostProcess.StartAtTerminal("PerazziSync.Cli", _cli.Environment,
            "dlq", "purge", "--id", shown.MessageId.ToString(), "--as", "ops.erin");
        var asking = await ProductUnderTest.EventuallyAsync(
            "the purge to ask for confirmation", () => Task.FromResult(purge.Output),
            o => o.Contains(question, StringComparison.Ordinal) || purge.HasExited, TimeSpan.FromSeconds(60));
        Assert.True(asking.Contains(question, StringComparison.Ordinal), "the purge never asked for confirmation:\n" + asking);
        // The same message fails again (a redelivery of it) while the operator reads the list;
        // the broker has confirmed it when this returns.
        await _broker.DeadLetterAsync(ErrorQueue, [shown with { SourceKey = "WO-S-AGAIN", FaultedAt = Morning.AddMinutes(5) }]);
        await purge.TypeAsync("y\r");

        var exitCode = await purge.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.True(exitCode == 0, purge.Output);
        var (id, body) = Assert.Single(await _broker.DrainAsync(ErrorQueue));
        Assert.Equal(shown.MessageId.ToString(), id);
        Assert.Contains("WO-S-AGAIN", body, StringComparison.Ordinal);
        await using var connection = await _database.OpenAsync();
        var purged = (await connection.QueryAsync<(string ObjectId, string Key)>(
            $"select object_id, body->'message'->'record'->>'sourceRecordId' from {PurgedBodies}")).ToList();
        Assert.Equal([(shown.MessageId.ToString(), "WO-S-SHOWN")], purged);
    }

    [Fact]
    public async Task Replay_and_purge_record_the_claimed_operator_beside_the_os_user_host_and_database_login()
    {
        var letters = Six();
        await _broker.DeadLetterAsync(ErrorQueue, letters);

        var replay = await HostProcess.RunAsync("PerazziSync.Cli",
            new Dictionary<string, string>(_cli.Environment) { ["PERAZZISYNC_OPERATOR"] = "ops.scapegoat" },
            "dlq", "replay", "--id", letters[0].MessageId.ToString());
        var purge = await _cli.RunAsync("dlq", "purge", "--id", letters[1].MessageId.ToString(), "--yes", "--as", "ops.someone-else");

        Assert.True(replay.ExitCode == 0, replay.Output);
        Assert.True(purge.ExitCode == 0, purge.Output);
        // The rows are written after a switch to service_role: the login must still show.
        var login = new NpgsqlConnectionStringBuilder(_database.ConnectionString).Username;
        await using var connection = await _database.OpenAsync();
        var audit = (await connection.QueryAsync<(string Action, string ObjectId, string Operator, string OsUser, string Host, string DbUser)>("""
            select action, object_id, metadata->>'operator', metadata->>'os_user', metadata->>'host', metadata->>'db_session_user'
            from audit_log where actor_role = 'operator' order by action
            """)).ToList();
        Assert.Equal(
            [
                ("dlq.purge", letters[1].MessageId.ToString(), "ops.someone-else", Environment.UserName, Environment.MachineName, login!),
                ("dlq.replay", letters[0].MessageId.ToString(), "ops.scapegoat", Environment.UserName, Environment.MachineName, login!),
            ],
            audit);
    }

    [Fact]
    public async Task Purged_messages_are_listed_newest_first_and_each_shown_with_its_audit_row_and_its_body_exactly_as_kept()
    {
        var pos = DeadLetter.Pos("WO-G-1", "Npgsql.PostgresException", "23514: new row violates check constraint", Morning);
        var order = new DeadLetter(Guid.NewGuid(), "BigCommerceOrderChanged", "order:218", "System.TimeoutException", "store silent", Morning);
        await _broker.DeadLetterAsync(ErrorQueue, [pos]);
        await _broker.DeadLetterAsync(OrderErrorQueue, [order]);
        Assert.Equal(0, (await _cli.RunAsync("dlq", "purge", "--yes", "--queue", ErrorQueue, "--as", "ops.carla")).ExitCode);
        Assert.Equal(0, (await _cli.RunAsync("dlq", "purge", "--yes", "--queue", OrderErrorQueue, "--as", "ops.dario")).ExitCode);

        var all = await _cli.RunAsync("dlq", "purged");
        Assert.True(all.ExitCode == 0, all.Output);
        var posLine = Line(all.Output, pos.MessageId.ToString());
        var orderLine = Line(all.Output, order.MessageId.ToString());
        Assert.True(all.Output.IndexOf(orderLine, StringComparison.Ordinal) < all.Output.IndexOf(posLine, StringComparison.Ordinal), all.Output);
        foreach (var expected in new[] { ErrorQueue, "PosServiceRecordReceived", "WO-G-1", "ops.carla", "Npgsql.PostgresException: 23514" })
        {
            Assert.Contains(expected, posLine, StringComparison.Ordinal);
        }
        Assert.Contains("ops.dario", orderLine, StringComparison.Ordinal);
        Assert.Contains("2 purged message(s).", all.Output, StringComparison.Ordinal);
        var newest = await _cli.RunAsync("dlq", "purged", "--limit", "1");
        Assert.Contains(order.MessageId.ToString(), newest.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(pos.MessageId.ToString(), newest.Output, StringComparison.Ordinal);
        Assert.Contains("2 purged message(s); the newest 1 shown (--limit).", newest.Output, StringComparison.Ordinal);
        var fromPos = await _cli.RunAsync("dlq", "purged", "--queue", Input);
        Assert.Contains(pos.MessageId.ToString(), fromPos.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(order.MessageId.ToString(), fromPos.Output, StringComparison.Ordinal);
        Assert.Equal(2, (await _cli.RunAsync("dlq", "purged", "--queue", "billing-invoice")).ExitCode);

        await using var connection = await _database.OpenAsync();
        var kept = await connection.QuerySingleAsync<(Guid AuditId, string Body)>(
            $"select a.id, b.body::text from {PurgedBodies} and a.object_id = @Id", new { Id = pos.MessageId.ToString() });
        var show = await _cli.RunAsync("dlq", "purged", "show", kept.AuditId.ToString());
        Assert.True(show.ExitCode == 0, show.Output);
        Assert.Contains(kept.Body, show.Output.Split('\n').Select(l => l.TrimEnd('\r')));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(pos.Envelope()), JsonNode.Parse(kept.Body)), kept.Body);
        foreach (var expected in new[] { pos.MessageId.ToString(), ErrorQueue, "ops.carla", "23514: new row violates check constraint", "WO-G-1" })
        {
            Assert.Contains(expected, show.Output, StringComparison.Ordinal);
        }

        var unknown = await _cli.RunAsync("dlq", "purged", "show", Guid.Empty.ToString());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains($"No purged message with audit id {Guid.Empty}.", unknown.Output, StringComparison.Ordinal);
        var notAnId = await _cli.RunAsync("dlq", "purged", "show", pos.MessageId.ToString()[..8]);
        Assert.Equal(2, notAnId.ExitCode);
        Assert.Contains("is not an audit id", notAnId.Output, StringComparison.Ordinal);
    }

    static string Line(string output, string text) =>
        output.Split('\n').SingleOrDefault(l => l.Contains(text, StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"no line with {text} in:\n{output}");

    [Fact]
    public async Task A_queue_that_is_not_the_products_is_refused_and_nothing_of_it_moves()
    {
        // Another application's queue and its dead letters on the same broker.
        const string billing = "billing-invoice";
        await _broker.DeclareQueueAsync(billing);
        await _broker.DeadLetterAsync(billing + Queues.ErrorSuffix, [DeadLetter.Pos("INV-1", "System.FormatException", "bad", Morning)]);

        foreach (var verb in new[] { "list", "replay", "purge --yes" })
        {
            foreach (var queue in new[] { billing + Queues.ErrorSuffix, billing })
            {
                var refused = await _cli.RunAsync(["dlq", .. verb.Split(' '), "--queue", queue]);
                Assert.True(refused.ExitCode == 2, $"dlq {verb} --queue {queue}: exit code {refused.ExitCode}\n{refused.Output}");
                Assert.Contains($"--queue {queue} is not one of the product's queues", refused.Output, StringComparison.Ordinal);
                Assert.Contains(ErrorQueue, refused.Output, StringComparison.Ordinal);
                Assert.Contains(Queues.BigCommerceOrderChanged + Queues.SkippedSuffix, refused.Output, StringComparison.Ordinal);
            }
        }
        var show = await _cli.RunAsync("dlq", "show", Guid.NewGuid().ToString(), "--queue", billing + Queues.ErrorSuffix);
        Assert.True(show.ExitCode == 2, show.Output);

        Assert.Equal(1u, await _broker.MessagesAsync(billing + Queues.ErrorSuffix));
        Assert.Equal(0u, await _broker.MessagesAsync(billing));
        await using var connection = await _database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from audit_log where action like 'dlq.%'"));
    }

    [Fact]
    public async Task An_absent_queue_or_an_unreachable_broker_is_a_clear_error_without_the_password()
    {
        const string absent = Queues.BigCommerceHookDeliveryFailed + Queues.SkippedSuffix;
        var missing = await _cli.RunAsync("dlq", "list", "--queue", absent);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"No dead-letter queue {absent}", missing.Output, StringComparison.Ordinal);

        var unreachable = await new Cli(_database.ConnectionString, "amqp://ops:s3cret-pw@127.0.0.1:1/").RunAsync("dlq", "list");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("RabbitMQ at 127.0.0.1:1/ cannot be reached", unreachable.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", unreachable.Output, StringComparison.Ordinal);
    }
}
