using System.Diagnostics;
using System.Globalization;
using Dapper;
using MassTransit;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// The worker applying POS callbacks already on its queue, next to the raw limit measured in the
/// same rounds on the same database: one bare transaction per record writing the same row and an
/// audit row of the same shape, from as many connections as the worker runs consumers.
/// </summary>
static class ApplyBenchmark
{
    static readonly Option Records = new("records", 20_000, 2_000, "POS callbacks per round, each a new work order");

    public static readonly Benchmark Definition = new(
        "apply", "the worker applying POS callbacks from its queue, next to bare upsert + audit transactions",
        [Records], RunAsync);

    /// <summary>As many as the worker's consumers take at once (its endpoint's concurrent message limit).</summary>
    const int Concurrency = 16;

    const string Serial = "HT-009871";

    /// <summary>Every field of a new row, as the worker lists them in its audit rows.</summary>
    static readonly string[] NewRowFields =
        ["source_record_id", "asset_id", "owner_user_id", "status", "service_date", "work_summary", "attachments", "raw_payload", "source_modified_at"];

    static readonly TimeSpan Stalled = TimeSpan.FromSeconds(60);

    static async Task<Section> RunAsync(Arguments arguments)
    {
        var rounds = arguments.Rounds;
        var records = arguments.Int(Records);

        Log.Step("apply: starting a worker to declare its queues");
        await using var product = await ProductUnderTest.StartAsync(workers: 1, settings: new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            // No re-match firing while the worker drains: nothing is parked, and it would only add load.
            ["Pos__RematchCron"] = "0 0 0 1 1 ? 2099",
        });
        await product.Workers[0].DisposeAsync();
        await using var connection = await product.OpenDatabaseAsync();

        var raw = new List<double>();
        var worker = new List<double>();
        var checks = new List<Check>();
        for (var round = 1; round <= rounds; round++)
        {
            Log.Step($"apply: round {round}/{rounds}, raw: {records:N0} upsert + audit transactions on {Concurrency} connections");
            raw.Add(await RawAsync(product.Database.ConnectionString, records));
            checks.Add(await WrittenOnceAsync(connection, records, $"round {round} raw"));
            await ResetAsync(connection);

            Log.Step($"apply: round {round}/{rounds}, publishing {records:N0} POS callbacks to the stopped worker's queue");
            await PublishAsync(product, records, round);
            Log.Step($"apply: round {round}/{rounds}, worker draining the queue");
            worker.Add(await DrainAsync(product, connection, records));
            checks.Add(await WrittenOnceAsync(connection, records, $"round {round} worker"));
            await ResetAsync(connection);
        }

        return new Section(
            "Worker applying POS callbacks",
            $"Each round: {records:N0} POS records, each a new work order of one verified asset, written by the raw transactions, then the same records as `PosServiceRecordReceived` messages published to the stopped worker's queue and drained by one worker started on them; its rate counts from the moment it is ready. The rows and audit rows are deleted after each side.",
            $"The reference is one transaction per record on {Concurrency} connections held open (the worker's consumers take {Concurrency} messages at once): the verified asset looked up by serial, the row upserted on its source key, newer versions only, and an audit row with metadata of the worker's keys, in one statement, then the commit; two round trips, as the worker's.",
            [
                Row.Relative("worker: POS callbacks applied/s", new Figure(worker, Unit.PerSecond), "upsert + audit transactions", new Figure(raw, Unit.PerSecond),
                    Target.MedianAtLeast(0.60), [.. checks]),
            ],
            [
                "each message delivered by RabbitMQ, its envelope deserialised, acknowledged; MassTransit's consume pipeline with the transient-fault retry, the dead-letter count and the database circuit",
                "a pooled connection taken and returned per message (no session reset)",
                "the serial normalised (trim, upper case); the stored row locked and compared field by field and by payload digest, to write only what changed and name the changed fields; a parked version of the record looked for and resolved",
                "the audit metadata built per message (message id, delivery id, trace id); a trace with the consume and the SQL, the outcome counted and the sync lag recorded; logs at Warning, where a deployment logs one Information line per message",
            ],
            [
                "its connections stay open for the whole run, one per task, never returned to a pool",
                "its audit metadata has the worker's keys, its values passed in as parameters: the changed fields are always the nine of a new row, where the worker computes them",
            ]);
    }

    static string Id(long i) => string.Create(CultureInfo.InvariantCulture, $"WO-A-{i:D7}");

    static async Task PublishAsync(ProductUnderTest product, int records, int round)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(new Uri(product.Broker.AmqpUri), host => host.PublisherConfirmation = true));
        await bus.StartAsync();
        try
        {
            var now = DateTimeOffset.UtcNow;
            await Parallel.ForAsync(0, records, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, cancellationToken) =>
            {
                var record = new PosServiceRecord(Id(i), Serial, "completed", now.AddDays(-1), "Annual service", [], now.AddMinutes(-1), "{}");
                await bus.Publish(new PosServiceRecordReceived(record, $"bench-apply-{round}-{i}", now), context => context.MessageId = NewId.NextGuid(), cancellationToken);
            });
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>Starts a worker on the full queue and returns the records it applied per second once every one is applied.</summary>
    static async Task<double> DrainAsync(ProductUnderTest product, NpgsqlConnection connection, int records)
    {
        var host = await product.StartWorkerAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            var atStart = await CountAsync(connection);
            await Wait.ForCountAsync($"the worker to apply {records:N0} POS callbacks", () => CountAsync(connection), records, Stalled);
            return (records - atStart) / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    static Task<long> CountAsync(NpgsqlConnection connection) =>
        connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-A-%'");

    /// <summary>Each side must have written every record once, with one audit row each: a rate of less work is no rate.</summary>
    static async Task<Check> WrittenOnceAsync(NpgsqlConnection connection, int records, string side)
    {
        const string sql = """
            select (select count(*) from service_events where source_record_id like 'WO-A-%') as "Rows",
                   (select count(*) from audit_log where object_type = 'service_event') as "Audits"
            """;
        var (rows, audits) = await connection.QuerySingleAsync<(long Rows, long Audits)>(sql);
        return new(rows == records && audits == records, $"{side}: {rows:N0} rows and {audits:N0} audit rows for {records:N0} records");
    }

    static async Task ResetAsync(NpgsqlConnection connection)
    {
        await connection.ExecuteAsync("delete from service_events where source_record_id like 'WO-A-%'; truncate audit_log", commandTimeout: 600);
        // VACUUM runs outside any transaction, so on its own.
        await connection.ExecuteAsync("vacuum analyze service_events", commandTimeout: 600);
    }

    static async Task<double> RawAsync(string connectionString, int records)
    {
        // The worker's statement minus what only the worker does (see the section's notes), its
        // role set in the same round trip as the worker sets it.
        const string sql = """
            set local role service_role;
            with asset as (
              select id, owner_user_id from perazzi_assets where serial_number = @Serial and verification_status = 'verified'
            ), up as (
              insert into service_events as t (asset_id, owner_user_id, source_system, source_record_id, status, service_date,
                work_summary, attachments, raw_payload, source_modified_at)
              select asset.id, asset.owner_user_id, 'perazzi_pos', @Id, 'completed', @ServiceDate, 'Annual service',
                     '[]'::jsonb, '{}'::jsonb, @UpdatedAt
              from asset
              on conflict on constraint service_events_source_unique do update set
                status = excluded.status, service_date = excluded.service_date, work_summary = excluded.work_summary,
                attachments = excluded.attachments, raw_payload = excluded.raw_payload, source_modified_at = excluded.source_modified_at
              where t.source_modified_at < excluded.source_modified_at
              returning t.id, t.source_record_id, t.source_modified_at
            )
            insert into audit_log (actor_role, action, object_type, object_id, metadata)
            select 'service_role', 'service_event.upsert', 'service_event', up.id::text, jsonb_build_object(
                     'source_system', 'perazzi_pos', 'source_key', up.source_record_id, 'message_id', @MessageId,
                     'delivery_id', @DeliveryId, 'trace_id', @TraceId, 'line', null, 'operation', 'insert',
                     'changed_fields', to_jsonb(@Changed::text[]), 'version', up.source_modified_at, 'previous_version', null)
            from up
            """;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var next = -1L;
        var now = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            long i;
            while ((i = Interlocked.Increment(ref next)) < records)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await connection.ExecuteAsync(sql, new
                {
                    Serial,
                    Id = Id(i),
                    ServiceDate = now.AddDays(-1),
                    UpdatedAt = now.AddMinutes(-1),
                    MessageId = Guid.NewGuid().ToString(),
                    DeliveryId = $"bench-raw-{i}",
                    TraceId = ActivityTraceId.CreateRandom().ToString(),
                    Changed = NewRowFields,
                }, transaction);
                await transaction.CommitAsync();
            }
        }));
        return records / clock.Elapsed.TotalSeconds;
    }
}
