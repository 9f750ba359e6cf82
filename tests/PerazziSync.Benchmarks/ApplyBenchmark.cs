using System.Diagnostics;
using System.Globalization;
using Dapper;
using MassTransit;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Pos.Records;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// The worker applying POS callbacks already on its queue, next to two raw limits measured in the
/// same rounds on the same services: one bare transaction per record writing the same row and its
/// audit row, from as many connections as the worker used to run consumers; and a bare MassTransit
/// consumer that only acknowledges the same messages, with the worker's prefetch. Then the worker
/// at a steady rate: from a callback accepted (its publish confirmed) to its row committed.
/// </summary>
static class ApplyBenchmark
{
    static readonly Option Records = new("records", 20_000, 2_000, "POS callbacks per round, each a new work order");
    static readonly Option Rate = new("rate", 500, 500, "callbacks per second in the steady phase");
    static readonly Option Seconds = new("seconds", 20, 5, "length of the steady phase");

    public static readonly Benchmark Definition = new(
        "apply", "the worker applying POS callbacks from its queue, next to bare upsert + audit transactions and a bare acknowledging consumer; then at a steady rate",
        [Records, Rate, Seconds], RunAsync);

    /// <summary>Connections of the raw transactions: the consumers the worker ran at once before it wrote callbacks in groups.</summary>
    const int Concurrency = 16;

    /// <summary>The worker's prefetch and concurrent message limit on the POS queue.</summary>
    const int Prefetch = PosOptions.CallbacksInFlight;

    const string BareQueue = "bench-apply-bare";

    /// <summary>Notified by a trigger the benchmark adds, once per row, when the transaction that inserted it commits.</summary>
    const string CommittedChannel = "bench_committed";

    const string Serial = "HT-009871";

    static readonly TimeSpan Stalled = TimeSpan.FromSeconds(60);

    static async Task<Section> RunAsync(Arguments arguments)
    {
        var rounds = arguments.Rounds;
        var records = arguments.Int(Records);
        var rate = arguments.Int(Rate);
        var seconds = arguments.Int(Seconds);

        Log.Step("apply: starting the worker");
        await using var product = await ProductUnderTest.StartAsync(workers: 1, settings: new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            // No re-match firing while the worker drains: nothing is parked, and it would only add load.
            ["Pos__RematchCron"] = "0 0 0 1 1 ? 2099",
        });
        // The worker runs through every round, as a deployed one does: it is paused (SIGSTOP) while a
        // round's callbacks are published and the bare consumer drains its copy, then resumed on them.
        var host = product.Workers[0];
        // Its queue declared once, bound to the same exchange as the worker's: every round's callbacks land in both.
        await (await BareConsumer.StartAsync(product.Broker.AmqpUri, expected: 0)).DisposeAsync();
        await using var connection = await product.OpenDatabaseAsync();
        await connection.ExecuteAsync($$"""
            create function bench_committed() returns trigger language plpgsql as $$
            begin
              perform pg_notify('{{CommittedChannel}}', new.source_record_id);
              return null;
            end
            $$;
            create table bench_drain_marks (at timestamptz not null);
            create function bench_drain_mark() returns trigger language plpgsql security definer as $$
            begin
              insert into public.bench_drain_marks values (clock_timestamp());
              return null;
            end
            $$;
            """);

        var raw = new List<double>();
        var bare = new List<double>();
        var worker = new List<double>();
        var steady = new List<double>();
        var checks = new List<Check>();
        var steadyChecks = new List<Check>();
        var workerCpu = new CpuUse("worker", "callback");
        var bareCpu = new CpuUse("worker", "callback");

        // Both consumers' code compiled and tiered up, as in a process that has been running: the
        // first drains would otherwise measure the JIT compiler as much as the consumers.
        Log.Step($"apply: warming up: {records:N0} POS callbacks through the worker and the bare consumer, not counted");
        await PublishAsync(product, records, round: 0);
        await DrainBareAsync(product, host, records, new CpuUse("worker", "callback"));
        await Wait.ForCountAsync($"the worker to apply {records:N0} warm-up POS callbacks", () => CountAsync(connection), records, Stalled);
        await ResetAsync(connection);

        for (var round = 1; round <= rounds; round++)
        {
            Log.Step($"apply: round {round}/{rounds}, raw: {records:N0} upsert + audit transactions on {Concurrency} connections");
            raw.Add(await RawAsync(product.Database.ConnectionString, records));
            checks.Add(await WrittenOnceAsync(connection, records, $"round {round} raw"));
            await ResetAsync(connection);

            Log.Step($"apply: round {round}/{rounds}, publishing {records:N0} POS callbacks to the paused worker's queue and the bare consumer's");
            await SignalAsync(host, "STOP");
            try
            {
                await PublishAsync(product, records, round);
                Log.Step($"apply: round {round}/{rounds}, bare consumer draining its queue");
                bare.Add(await DrainBareAsync(product, host, records, bareCpu));
            }
            catch
            {
                await SignalAsync(host, "CONT");
                throw;
            }
            Log.Step($"apply: round {round}/{rounds}, worker resumed, draining its queue");
            worker.Add(await DrainAsync(host, connection, records, workerCpu));
            checks.Add(await WrittenOnceAsync(connection, records, $"round {round} worker"));
            await ResetAsync(connection);

            Log.Step($"apply: round {round}/{rounds}, worker at {rate} callbacks/s for {seconds} s");
            // The notification per row only here: it is the benchmark's own work, which the drains must not carry.
            var (p99, check) = await WithTriggerAsync(connection, "bench_committed", "for each row execute function bench_committed()",
                () => SteadyAsync(product, connection, rate, seconds, round));
            steady.Add(p99);
            steadyChecks.Add(check);
            await ResetAsync(connection);
            // The steady phase's callbacks were routed to the stopped bare consumer's queue too.
            await product.Broker.PurgeAsync(BareQueue);
        }

        return new Section(
            "Worker applying POS callbacks",
            $"Each round: {records:N0} POS records, each a new work order of one verified asset, written by the raw transactions; then the same records as `PosServiceRecordReceived` messages published once, landing in the worker's queue while the worker is paused (SIGSTOP) and in the bare consumer's, drained by the bare consumer started on them, then by the worker resumed on them (each rate counts from the moment its consumer starts or resumes to the bare consumer's last message or to the end of the worker's last statement inserting rows, which a statement trigger the benchmark adds for the drain records); then {rate} callbacks/s for {seconds} s published to the running worker, each timed from its publish confirmed (accepted) to the notification that the transaction inserting its row committed (a trigger the benchmark adds for this phase only notifies the row's key; PostgreSQL delivers it at commit). The worker is one process for the whole benchmark, and before the first round both consumers drain one round's worth of callbacks that is not counted, so that neither is measured while the JIT compiler still compiles and tiers up its code, which a deployed worker has long done. The rows and audit rows are deleted after each side.",
            $"The first reference is one transaction per record on {Concurrency} connections held open: the verified asset looked up by serial and the row upserted on its source key, newer versions only, with the audit context of the worker's keys set in the same round trip so that the database's audit trigger writes the same audit row, then the commit; two round trips. The second is a MassTransit consumer in the benchmark's process that only acknowledges each message, with the worker's prefetch and concurrent message limit ({Prefetch}), on the same broker.",
            [
                Row.Relative("worker: POS callbacks applied/s", new Figure(worker, Unit.PerSecond), "upsert + audit transactions", new Figure(raw, Unit.PerSecond),
                    Target.MedianAtLeast(2.0), [.. checks]),
                Row.Relative("worker: POS callbacks applied/s, to a bare consumer", new Figure(worker, Unit.PerSecond), "bare MassTransit consumer, acknowledging only", new Figure(bare, Unit.PerSecond),
                    Target.MedianAtLeast(0.50), [.. checks]),
                Row.Absolute($"worker: p99 from accepted to committed at {rate} callbacks/s", new Figure(steady, Unit.Milliseconds),
                    Target.MedianBelow(1_000), [.. steadyChecks]),
            ],
            [
                "MassTransit's consume pipeline with the transient-fault retry, the dead-letter count and the database circuit, the envelope deserialised (the bare consumer too)",
                "the callbacks the consumers hold, gathered for at most 5 ms, written together in one transaction: a pooled connection, the role and a lock timeout set, a binary COPY into a temp table, `analyze`, one statement, the commit; each message told its own outcome",
                "the serial normalised (trim, upper case); the stored row locked and compared field by field and by payload digest, to write only what changed and name the changed fields; a parked version of the record looked for and resolved",
                "the audit metadata built per message (message id, delivery id, trace id); a trace with the consume, linked to the group's write and its SQL; the outcome counted and the sync lag recorded; logs at Warning, where a deployment logs one Information line per message",
            ],
            [
                "the raw transactions: their connections stay open for the whole run, one per task, never returned to a pool",
                "the raw transactions: their audit context is the worker's keys passed in as a parameter, built once per record by the load generator",
            ])
        {
            Profile =
            [
                $"the machine's CPU while the worker drained its queue, over every round: {workerCpu.Describe()}",
                $"while the bare consumer drained its queue: {bareCpu.Describe()}",
            ],
        };
    }

    static string Id(long i) => string.Create(CultureInfo.InvariantCulture, $"WO-A-{i:D7}");

    static PosServiceRecordReceived Callback(string id, DateTimeOffset now, string webhookId) =>
        new(new PosServiceRecord(id, Serial, "completed", now.AddDays(-1), "Annual service", [], now.AddMinutes(-1), "{}"), webhookId, now);

    static IBusControl Publisher(ProductUnderTest product) =>
        Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(new Uri(product.Broker.AmqpUri), host => host.PublisherConfirmation = true));

    static async Task PublishAsync(ProductUnderTest product, int records, int round)
    {
        var bus = Publisher(product);
        await bus.StartAsync();
        try
        {
            var now = DateTimeOffset.UtcNow;
            await Parallel.ForAsync(0, records, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, cancellationToken) =>
                await bus.Publish(Callback(Id(i), now, $"bench-apply-{round}-{i}"), context => context.MessageId = NewId.NextGuid(), cancellationToken));
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>Starts the bare consumer on its full queue and returns the messages it acknowledged per second once every one is.</summary>
    static async Task<double> DrainBareAsync(ProductUnderTest product, HostProcess host, int records, CpuUse cpu)
    {
        await using var consumer = await BareConsumer.StartAsync(product.Broker.AmqpUri, expected: records);
        var before = CpuUse.Read(host.Id);
        var started = Stopwatch.GetTimestamp();
        var atStart = consumer.Consumed;
        // A count in this process, read every 10 ms so that the CPU use below ends with the drain.
        await Wait.ForCountAsync($"the bare consumer to acknowledge {records:N0} messages", () => Task.FromResult(consumer.Consumed), records, Stalled,
            TimeSpan.FromMilliseconds(10));
        // Until its last message, not until the poll that saw it.
        var elapsed = Stopwatch.GetElapsedTime(started, consumer.LastConsumedAt);
        cpu.Add(before, CpuUse.Read(host.Id), records - atStart);
        return (records - atStart) / elapsed.TotalSeconds;
    }

    /// <summary>Resumes the paused worker on its full queue and returns the records it applied per second once every one is applied.</summary>
    static async Task<double> DrainAsync(HostProcess host, NpgsqlConnection connection, int records, CpuUse cpu)
    {
        // The drain ends with the worker's last statement inserting rows, a group's, not with the
        // poll that saw its rows: each such statement leaves its time in bench_drain_marks.
        await connection.ExecuteAsync("truncate bench_drain_marks");
        return await WithTriggerAsync(connection, "bench_drain_mark", "for each statement execute function bench_drain_mark()", async () =>
        {
            var atStart = await CountAsync(connection);
            var before = CpuUse.Read(host.Id);
            var resumedAt = await connection.ExecuteScalarAsync<DateTime>("select clock_timestamp()");
            await SignalAsync(host, "CONT");
            await Wait.ForCountAsync($"the worker to apply {records:N0} POS callbacks", () => CountAsync(connection), records, Stalled);
            var elapsed = await connection.ExecuteScalarAsync<DateTime>("select max(at) from bench_drain_marks") - resumedAt;
            cpu.Add(before, CpuUse.Read(host.Id), records - atStart);
            return (records - atStart) / elapsed.TotalSeconds;
        });
    }

    /// <summary>
    /// Runs <paramref name="phase"/> with the trigger <paramref name="name"/> after insert on
    /// <c>service_events</c> (<paramref name="definition"/> its rest), which only that phase
    /// reads, and drops it after.
    /// </summary>
    static async Task<T> WithTriggerAsync<T>(NpgsqlConnection connection, string name, string definition, Func<Task<T>> phase)
    {
        await connection.ExecuteAsync($"create trigger {name} after insert on service_events {definition}");
        try
        {
            return await phase();
        }
        finally
        {
            await connection.ExecuteAsync($"drop trigger {name} on service_events");
        }
    }

    /// <summary>Sends <paramref name="signal"/> (STOP or CONT) to the worker's process.</summary>
    static async Task SignalAsync(HostProcess host, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", host.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {host.Id} exited with {kill.ExitCode}");
        }
    }

    /// <summary>
    /// A running worker fed <paramref name="rate"/> callbacks a second; the 99th percentile in
    /// milliseconds from each publish confirmed to its row's commit notified, and whether every
    /// callback was committed once.
    /// </summary>
    static async Task<(double P99, Check Check)> SteadyAsync(ProductUnderTest product, NpgsqlConnection connection, int rate, int seconds, int round)
    {
        var bus = Publisher(product);
        await bus.StartAsync();
        // A connection of its own, outside the pool: a pooled one would come back in the next
        // round still listening, holding the notifications of every row written meanwhile.
        await using var listener = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(product.Database.ConnectionString) { Pooling = false }.ConnectionString);
        await listener.OpenAsync();
        var clock = Stopwatch.StartNew();
        var accepted = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var committed = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        listener.Notification += (_, e) =>
        {
            lock (committed)
            {
                if (e.Payload.Length > 0)
                {
                    committed.TryAdd(e.Payload, clock.Elapsed);
                }
            }
        };
        await listener.ExecuteAsync($"listen {CommittedChannel}");
        // Stopped by an empty notification rather than by cancelling the wait, and always before
        // the listener is disposed, which fails on a connection still waiting.
        var stopping = false;
        var listening = Task.Run(async () =>
        {
            while (!Volatile.Read(ref stopping))
            {
                await listener.WaitAsync();
            }
        });
        async Task StopListeningAsync()
        {
            Volatile.Write(ref stopping, true);
            await connection.ExecuteAsync($"notify {CommittedChannel}, ''");
            await listening;
        }
        try
        {
            var total = rate * seconds;
            var now = DateTimeOffset.UtcNow;
            var load = await Load.OpenLoopAsync("steady", rate, TimeSpan.FromSeconds(seconds), async i =>
            {
                var id = Id(i);
                await bus.Publish(Callback(id, now, $"bench-steady-{round}-{i}"), context => context.MessageId = NewId.NextGuid());
                lock (accepted)
                {
                    accepted[id] = clock.Elapsed;
                }
                return true;
            });
            await Wait.ForCountAsync($"the worker to apply {total:N0} steady POS callbacks", () => CountAsync(connection), total, Stalled);
            await ProductUnderTest.EventuallyAsync("every commit notified", () => Task.FromResult(Count(committed)), n => n == total, TimeSpan.FromSeconds(10));
            await StopListeningAsync();

            var latencies = new Latencies();
            foreach (var (id, at) in accepted)
            {
                // A commit notified before the confirm reached the publisher took no time since acceptance.
                latencies.Add(committed[id] > at ? committed[id] - at : TimeSpan.Zero);
            }
            var written = await WrittenOnceAsync(connection, total, $"round {round} steady");
            return (latencies.Percentile(99),
                new Check(written.Holds && load.Failed == 0, $"{written.Failure}; {load.Failed:N0} publishes failed"));
        }
        finally
        {
            if (!Volatile.Read(ref stopping))
            {
                await StopListeningAsync();
            }
            await bus.StopAsync();
        }
    }

    static int Count(Dictionary<string, TimeSpan> map)
    {
        lock (map)
        {
            return map.Count;
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
        await connection.ExecuteAsync("delete from service_events where source_record_id like 'WO-A-%'; truncate audit_log, perazzi_sync.purged_messages", commandTimeout: 600);
        // VACUUM runs outside any transaction, so on its own.
        await connection.ExecuteAsync("vacuum analyze service_events", commandTimeout: 600);
    }

    static async Task<double> RawAsync(string connectionString, int records)
    {
        // The worker's statement minus what only the worker does (see the section's notes), its
        // role and audit context set in the same round trip as the worker sets them; the
        // database's audit trigger writes the audit row, as it does for the worker.
        const string sql = """
            set local role service_role;
            select set_config('perazzi_sync.audit', @Audit, true);
            insert into service_events as t (asset_id, owner_user_id, source_system, source_record_id, status, service_date,
              work_summary, attachments, raw_payload, source_modified_at)
            select a.id, a.owner_user_id, 'perazzi_pos', @Id, 'completed', @ServiceDate, 'Annual service', '[]'::jsonb, '{}'::jsonb, @UpdatedAt
            from perazzi_assets a where a.serial_number = @Serial and a.verification_status = 'verified'
            on conflict on constraint service_events_source_unique do update set
              status = excluded.status, service_date = excluded.service_date, work_summary = excluded.work_summary,
              attachments = excluded.attachments, raw_payload = excluded.raw_payload, source_modified_at = excluded.source_modified_at
            where t.source_modified_at < excluded.source_modified_at
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
                var audit = new System.Text.Json.Nodes.JsonObject
                {
                    ["source_system"] = "perazzi_pos",
                    ["message_id"] = Guid.NewGuid().ToString(),
                    ["delivery_id"] = $"bench-raw-{i}",
                    ["trace_id"] = ActivityTraceId.CreateRandom().ToString(),
                };
                await connection.ExecuteAsync(sql, new
                {
                    Audit = audit.ToJsonString(),
                    Serial,
                    Id = Id(i),
                    ServiceDate = now.AddDays(-1),
                    UpdatedAt = now.AddMinutes(-1),
                }, transaction);
                await transaction.CommitAsync();
            }
        }));
        return records / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// A MassTransit bus in this process whose one consumer acknowledges <see cref="PosServiceRecordReceived"/>
    /// and does nothing else, on a queue of its own bound like the worker's, with the worker's prefetch.
    /// </summary>
    sealed class BareConsumer : IAsyncDisposable
    {
        readonly IBusControl _bus;
        long _consumed;
        long _lastConsumedAt;

        BareConsumer(string amqpUri, long expected) =>
            _bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
            {
                rabbit.Host(new Uri(amqpUri));
                rabbit.ReceiveEndpoint(BareQueue, endpoint =>
                {
                    endpoint.PrefetchCount = Prefetch;
                    endpoint.ConcurrentMessageLimit = Prefetch;
                    endpoint.Handler<PosServiceRecordReceived>(context =>
                    {
                        if (Interlocked.Increment(ref _consumed) == expected)
                        {
                            Volatile.Write(ref _lastConsumedAt, Stopwatch.GetTimestamp());
                        }
                        return Task.CompletedTask;
                    });
                });
            });

        public long Consumed => Interlocked.Read(ref _consumed);

        /// <summary>When the expected message was consumed (a <see cref="Stopwatch"/> timestamp); 0 before.</summary>
        public long LastConsumedAt => Volatile.Read(ref _lastConsumedAt);

        public static async Task<BareConsumer> StartAsync(string amqpUri, long expected)
        {
            var consumer = new BareConsumer(amqpUri, expected);
            await consumer._bus.StartAsync();
            return consumer;
        }

        public async ValueTask DisposeAsync() => await _bus.StopAsync();
    }
}
