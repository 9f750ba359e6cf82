using System.Diagnostics;
using System.Globalization;
using Dapper;
using MassTransit;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// The worker applying POS callbacks already on the queue, next to the raw limit measured in the
/// same run on the same database: one bare transaction per record (upsert on the source key,
/// newer-only, plus its audit row) from as many connections as the worker runs consumers.
/// </summary>
static class ApplyBenchmark
{
    const int Concurrency = 16;
    const string Serial = "HT-009871";

    public sealed record Result(int Records, double RawPerSecond, double WorkerPerSecond);

    public static async Task RunAsync(Arguments arguments)
    {
        var r = await MeasureAsync(arguments.Int("records", 20_000));
        Console.WriteLine();
        Console.WriteLine($"Apply benchmark, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {r.Records:N0} records");
        Console.WriteLine();
        Console.WriteLine("| path | records/s |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| raw upsert + audit, one transaction each, {Concurrency} connections | {r.RawPerSecond:N0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| worker, {Concurrency} consumers | {r.WorkerPerSecond:N0} |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Worker / raw: {r.WorkerPerSecond / r.RawPerSecond:P0} (target at least 60%)"));
    }

    public static async Task<Result> MeasureAsync(int records)
    {
        Console.Error.WriteLine("Starting a worker to declare its queues...");
        await using var product = await ProductUnderTest.StartAsync(workers: 1, settings: new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            ["Pos__RematchCron"] = "0 0 0 1 1 ? 2099",
        });
        await product.Workers[0].DisposeAsync();
        await using var connection = await product.OpenDatabaseAsync();

        Console.Error.WriteLine($"Raw: {records:N0} upsert + audit transactions on {Concurrency} connections...");
        var raw = await RawAsync(product.Database.ConnectionString, records);
        await connection.ExecuteAsync("delete from service_events where source_record_id like 'WO-A-%'; truncate audit_log", commandTimeout: 600);
        await connection.ExecuteAsync("vacuum analyze service_events", commandTimeout: 600);

        Console.Error.WriteLine($"Publishing {records:N0} POS callbacks to the worker's queue...");
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(new Uri(product.Broker.AmqpUri), host => host.PublisherConfirmation = true));
        await bus.StartAsync();
        var now = DateTimeOffset.UtcNow;
        await Parallel.ForAsync(0, records, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, cancellationToken) =>
        {
            var record = new PosServiceRecord(Id(i), Serial, "completed", now.AddDays(-1), "Annual service", [], now.AddMinutes(-1), "{}");
            await bus.Publish(new PosServiceRecordReceived(record, $"bench-apply-{i}", now), context => context.MessageId = NewId.NextGuid(), cancellationToken);
        });
        await bus.StopAsync();

        Console.Error.WriteLine("Worker draining the queue...");
        await product.StartWorkerAsync();
        var clock = Stopwatch.StartNew();
        var startCount = await CountAsync(connection);
        long count;
        while ((count = await CountAsync(connection)) < records && clock.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(100);
        }
        var worker = (count - startCount) / clock.Elapsed.TotalSeconds;
        return new Result(records, raw, worker);
    }

    static Task<long> CountAsync(NpgsqlConnection connection) =>
        connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-A-%'");

    static string Id(long i) => string.Create(CultureInfo.InvariantCulture, $"WO-A-{i:D7}");

    static async Task<double> RawAsync(string connectionString, int records)
    {
        const string sql = """
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
              returning t.id, t.source_record_id
            )
            insert into audit_log (actor_role, action, object_type, object_id, metadata)
            select 'service_role', 'service_event.upsert', 'service_event', up.id::text, jsonb_build_object('source_key', up.source_record_id)
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
                await connection.ExecuteAsync("set local role service_role", transaction: transaction);
                await connection.ExecuteAsync(sql, new { Serial, Id = Id(i), ServiceDate = now.AddDays(-1), UpdatedAt = now.AddMinutes(-1) }, transaction);
                await transaction.CommitAsync();
            }
        }));
        return records / clock.Elapsed.TotalSeconds;
    }
}
