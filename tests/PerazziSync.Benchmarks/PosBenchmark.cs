using System.Diagnostics;
using System.Globalization;
using Dapper;
using Npgsql;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// `perazzisync pos import` of generated exports, next to two raw references measured in the same
/// run on the same database: COPY of the file into a bare table, and the same upsert written as
/// one bare statement (COPY into a temp table, one INSERT … ON CONFLICT … DO UPDATE … WHERE newer
/// RETURNING feeding the audit insert).
/// </summary>
static class PosBenchmark
{
    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    public sealed record Result(int Rows, double CopyPerSecond, double BarePerSecond, double ImportPerSecond, long PeakBytes, TimeSpan Import, TimeSpan Reimport);

    public static async Task RunAsync(Arguments arguments)
    {
        var results = await MeasureAsync([arguments.Int("small", 100_000), arguments.Int("rows", 1_000_000)]);
        Console.WriteLine();
        Console.WriteLine($"POS import benchmark, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| rows | raw COPY rows/s | bare upsert + audit rows/s | pos import rows/s | import / bare | import peak memory | import | re-import |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Rows:N0} | {r.CopyPerSecond:N0} | {r.BarePerSecond:N0} | {r.ImportPerSecond:N0} | {r.ImportPerSecond / r.BarePerSecond:P0} | {r.PeakBytes / 1048576.0:N0} MB | {r.Import.TotalSeconds:0.0} s | {r.Reimport.TotalSeconds:0.00} s |"));
        }
        Console.WriteLine();
        Console.WriteLine("Targets: import at least 50% of the bare statement and at least 20,000 rows/s; peak memory under 300 MB; re-import under a tenth of the import.");
    }

    public static async Task<List<Result>> MeasureAsync(int[] sizes)
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using (var connection = await database.OpenAsync())
        {
            await PortalUsers.SeedAsync(connection);
            await PortalUsers.SeedAssetsAsync(connection);
        }
        var results = new List<Result>();
        foreach (var rows in sizes)
        {
            var path = Path.Combine(Path.GetTempPath(), $"pos-export-{rows}-{Guid.NewGuid():N}.csv");
            try
            {
                Console.Error.WriteLine($"Generating {rows:N0} rows...");
                await GenerateAsync(path, rows);
                results.Add(await MeasureAsync(database, path, rows));
            }
            finally
            {
                File.Delete(path);
            }
        }

        return results;
    }

    static async Task GenerateAsync(string path, int rows)
    {
        string[] serials = ["MX8-123456", "HT-009871", " mx2000-77341 "];
        await using var writer = new StreamWriter(path);
        await writer.WriteLineAsync(Header);
        for (var i = 0; i < rows; i++)
        {
            await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"WO-B-{i:D8},{serials[i % serials.Length]},completed,2026-03-02T09:15:00+01:00,\"Annual service, trigger group inspection; springs replaced; test-fired \"\"OK\"\"\",service/WO-B-{i:D8}/report.pdf,2026-03-09T17:45:00+01:00"));
        }
    }

    static async Task<Result> MeasureAsync(TestDatabase database, string path, int rows)
    {
        await using var connection = await database.OpenAsync();
        await ResetAsync(connection);

        Console.Error.WriteLine("Raw COPY into a bare table...");
        var clock = Stopwatch.StartNew();
        await connection.ExecuteAsync("""
            drop table if exists bare_copy;
            create unlogged table bare_copy (source_record_id text, serial_number text, status text, service_date text,
              work_summary text, attachments text, updated_at text)
            """);
        await CopyFileAsync(connection, "bare_copy", path);
        var copy = rows / clock.Elapsed.TotalSeconds;

        Console.Error.WriteLine("Bare one-statement upsert with audit rows...");
        clock.Restart();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("""
                create temp table bare_in (source_record_id text, serial_number text, status text, service_date timestamptz,
                  work_summary text, attachments text, updated_at timestamptz) on commit drop
                """, transaction: transaction);
            await CopyFileAsync(connection, "bare_in", path);
            await connection.ExecuteAsync("""
                with up as (
                  insert into service_events as t (asset_id, owner_user_id, source_system, source_record_id, status, service_date,
                    work_summary, attachments, raw_payload, source_modified_at)
                  select a.id, a.owner_user_id, 'perazzi_pos', i.source_record_id, i.status, i.service_date, i.work_summary,
                         to_jsonb(string_to_array(i.attachments, ';')), to_jsonb(i), i.updated_at
                  from bare_in i join perazzi_assets a on a.serial_number = upper(btrim(i.serial_number)) and a.verification_status = 'verified'
                  on conflict on constraint service_events_source_unique do update set
                    status = excluded.status, service_date = excluded.service_date, work_summary = excluded.work_summary,
                    attachments = excluded.attachments, raw_payload = excluded.raw_payload, source_modified_at = excluded.source_modified_at
                  where t.source_modified_at < excluded.source_modified_at
                  returning t.id, t.source_record_id
                )
                insert into audit_log (actor_role, action, object_type, object_id, metadata)
                select 'service_role', 'service_event.upsert', 'service_event', up.id::text, jsonb_build_object('source_key', up.source_record_id)
                from up
                """, transaction: transaction, commandTimeout: 600);
            await transaction.CommitAsync();
        }
        var bare = rows / clock.Elapsed.TotalSeconds;
        await ResetAsync(connection);

        Console.Error.WriteLine("perazzisync pos import...");
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = database.ConnectionString };
        clock.Restart();
        long peak;
        await using (var import = HostProcess.Start("PerazziSync.Cli", environment, "pos", "import", path))
        {
            peak = await PeakMemoryUntilExitAsync(import);
            if (await import.WaitForExitAsync(TimeSpan.FromMinutes(30)) != 0)
            {
                throw new InvalidOperationException("The import failed:\n" + import.Output);
            }
        }
        var imported = clock.Elapsed;
        var applied = await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-B-%'");
        if (applied != rows)
        {
            throw new InvalidOperationException($"The import applied {applied} of {rows} rows");
        }

        clock.Restart();
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", environment, "pos", "import", path);
        if (exitCode != 0 || !output.Contains("imported before", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The re-import did not recognise the file:\n" + output);
        }
        var reimported = clock.Elapsed;
        await ResetAsync(connection);
        return new Result(rows, copy, bare, rows / imported.TotalSeconds, peak, imported, reimported);
    }

    static async Task CopyFileAsync(NpgsqlConnection connection, string table, string path)
    {
        await using var copy = await connection.BeginTextImportAsync(
            $"copy {table} (source_record_id, serial_number, status, service_date, work_summary, attachments, updated_at) from stdin (format csv, header true)");
        using var file = new StreamReader(path);
        var buffer = new char[1 << 16];
        int read;
        while ((read = await file.ReadAsync(buffer)) > 0)
        {
            await copy.WriteAsync(buffer.AsMemory(0, read));
        }
    }

    /// <summary>The process's peak resident memory (VmHWM), sampled until it exits.</summary>
    static async Task<long> PeakMemoryUntilExitAsync(HostProcess process)
    {
        long peak = 0;
        while (!process.HasExited)
        {
            try
            {
                foreach (var line in await File.ReadAllLinesAsync($"/proc/{process.Id}/status"))
                {
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024);
                    }
                }
            }
            catch (IOException)
            {
                // The process ended between the check and the read.
            }
            await Task.Delay(50);
        }
        return peak;
    }

    static async Task ResetAsync(NpgsqlConnection connection)
    {
        await connection.ExecuteAsync("""
            delete from service_events where source_record_id like 'WO-B-%';
            truncate audit_log;
            delete from perazzi_sync.pos_imports;
            """, commandTimeout: 600);
        // VACUUM runs outside any transaction, so on its own.
        await connection.ExecuteAsync("vacuum analyze service_events", commandTimeout: 600);
    }
}
