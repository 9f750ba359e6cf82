using System.Diagnostics;
using System.Globalization;
using Dapper;
using Npgsql;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// <c>perazzisync pos import</c> of generated exports, next to two raw references measured in the
/// same rounds on the same database: COPY of the file into a bare table, and the same upsert
/// written as one bare statement (COPY into a temp table, one INSERT … ON CONFLICT … DO UPDATE …
/// WHERE newer RETURNING feeding the audit insert). And the same export carrying the workshop's
/// customer identities, a tenth of its rows verifying a claim each, next to the import without them.
/// </summary>
static class PosBenchmark
{
    static readonly Option Rows = new("rows", [1_000_000], [20_000], "rows per export; several sizes separated by commas, e.g. 100000,1000000, to see memory stay flat");

    public static readonly Benchmark Definition = new(
        "pos", "perazzisync pos import of generated exports, next to raw COPY and a bare one-statement upsert + audit",
        [Rows], RunAsync);

    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    /// <summary>Every <see cref="ClaimEvery"/>th row of the export with identities is the first record of a claimed gun, naming its claimant.</summary>
    const int ClaimEvery = 10;

    sealed record Round(
        double CopyPerSecond, double BarePerSecond, double ImportPerSecond, long PeakBytes, TimeSpan Import, TimeSpan Reimport, double IdentitiesPerSecond);

    /// <summary>Where the CPU went during the first import and during the bare statement.</summary>
    sealed record Profile(CpuUse Import, CpuUse Bare);

    static async Task<Section> RunAsync(Arguments arguments)
    {
        var rounds = arguments.Rounds;
        var sizes = arguments.Ints(Rows);
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using (var connection = await database.OpenAsync())
        {
            await PortalUsers.SeedAsync(connection);
            await PortalUsers.SeedAssetsAsync(connection);
            await SeedClaimsAsync(connection, sizes.Max() / ClaimEvery);
        }
        var rows = new List<Row>();
        var profiles = new List<string>();
        foreach (var size in sizes)
        {
            var path = Path.Combine(Path.GetTempPath(), $"pos-export-{size}-{Guid.NewGuid():N}.csv");
            var withIdentities = Path.Combine(Path.GetTempPath(), $"pos-export-identities-{size}-{Guid.NewGuid():N}.csv");
            try
            {
                Log.Step($"pos: generating {size:N0} rows, without and with identities");
                await GenerateAsync(path, size);
                await GenerateWithIdentitiesAsync(withIdentities, size);
                var results = new List<Round>();
                var checks = new List<Check>();
                var identityChecks = new List<Check>();
                var profile = new Profile(new CpuUse("Cli", "row"), new CpuUse("Cli", "row"));
                for (var round = 1; round <= rounds; round++)
                {
                    results.Add(await MeasureAsync(database, path, withIdentities, size, $"round {round}/{rounds}, {size:N0} rows", checks, identityChecks, profile));
                }
                profiles.Add(string.Create(CultureInfo.InvariantCulture,
                    $"the machine's CPU during the first import of {size:N0} rows, over every round: {profile.Import.Describe()}; during the bare statement: {profile.Bare.Describe()}"));
                rows.AddRange(RowsOf(size, results, checks, identityChecks));
            }
            finally
            {
                File.Delete(path);
                File.Delete(withIdentities);
            }
        }

        return new Section(
            "POS import",
            $"Each round, for an export of {string.Join(" and of ", sizes.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))} rows (CSV, every row a new work order of a verified asset, quoted commas and doubled quotes in the summary): the file COPYed into a bare table, the bare statement, then `perazzisync pos import` of the file as a child process, timed from its start to its exit, and the same import again; then the import of the same export with the customer identity columns (`customer_email`, `customer_name`) on every row, where every {ClaimEvery}th row is the first record of a gun claimed by a different portal user (unverified, its claimant's confirmed e-mail in another letter case) and verifies it, the other rows naming the verified guns' owners. Rows and audit rows are deleted, the claims set back to unverified and the table vacuumed between the sides.",
            "The reference is one transaction: the file COPYed (text, CSV) into a temp table, then one statement that joins the verified assets by serial and upserts on the source key, newer versions only, with the audit context of the import's keys set in the same round trip, so that the database's audit trigger writes each row's audit row as it does for the import. The COPY into a bare unlogged table of text columns, without constraints or indexes, shows what moving the bytes costs.",
            rows,
            [
                "a process started (.NET start-up) and the file hashed (SHA-256) to recognise a second import; an advisory lock and a row of `pos_imports` kept up to date with each chunk",
                "each row parsed and validated in .NET (times read with their zone, serials normalised, the raw payload written as JSON), two chunks written at once on two connections (a chunk waits for the one before only when they share a work order or a claimed gun, never in this export), each chunk's serials looked up for claims before it is written, a chunk read ahead while they are written",
                "a transaction per chunk: a binary COPY into a temp table, `analyze`, then the statement that locks and compares each stored row field by field and by payload digest, writes only what changed, names the changed fields in the audit row, parks rows of unknown or unverified serials and resolves parked versions; the progress row updated",
                "before the statement, the claims on the chunk's serials looked for and locked; with identities, the messages of the claimed serials' parked records added to the audit context, each claim weighed in one more statement (the newest record naming a customer among the chunk, the parked records and the stored rows), the claimants' e-mails compared by the security-definer function, the assets verified with the audit rows the database writes, the claims recorded, and the verified guns' parked records looked for",
            ],
            [
                "the file parsed by PostgreSQL's COPY instead of .NET, and streamed from the load generator's process",
                "the raw payload built in SQL (`to_jsonb` of the row); no line per row in the audit context, whose keys are the import's alone",
                "one transaction for the whole file, where the import commits every chunk",
            ])
        {
            Profile = profiles,
        };
    }

    static IEnumerable<Row> RowsOf(int size, List<Round> rounds, List<Check> checks, List<Check> identityChecks)
    {
        var rows = size.ToString("N0", CultureInfo.InvariantCulture);
        var import = new Figure(rounds.Select(r => r.ImportPerSecond), Unit.PerSecond);
        yield return Row.Relative($"pos import of {rows} rows: rows/s", import, "one-statement upsert + audit",
            new Figure(rounds.Select(r => r.BarePerSecond), Unit.PerSecond), Target.MedianAtLeast(0.60), [.. checks]);
        yield return Row.Absolute($"pos import of {rows} rows: rows/s (absolute)", import,
            $"raw COPY: {new Figure(rounds.Select(r => r.CopyPerSecond), Unit.PerSecond)}", Target.MedianAtLeast(20_000), [.. checks]);
        yield return Row.Absolute($"pos import of {rows} rows: peak memory of the Cli", new Figure(rounds.Select(r => (double)r.PeakBytes), Unit.Megabytes),
            Target.EveryRoundBelow(300 << 20), [.. checks]);
        yield return Row.Absolute($"pos import of {rows} rows: the same file again, time / first import's time",
            new Figure(rounds.Select(r => r.Reimport / r.Import), Unit.Percent), Target.EveryRoundBelow(0.10), [.. checks]);
        // Verifying claims in the writing transaction must not cost the import more than a tenth of its rate.
        yield return Row.Relative($"pos import of {rows} rows with identities, {size / ClaimEvery:N0} of them verifying a claim: rows/s",
            new Figure(rounds.Select(r => r.IdentitiesPerSecond), Unit.PerSecond), "the same import without identities", import,
            Target.MedianAtLeast(0.90), [.. identityChecks]);
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

    static async Task<Round> MeasureAsync(
        TestDatabase database, string path, string withIdentities, int rows, string round, List<Check> checks, List<Check> identityChecks, Profile profile)
    {
        await using var connection = await database.OpenAsync();
        await ResetAsync(connection);

        Log.Step($"pos: {round}, raw COPY into a bare table");
        await connection.ExecuteAsync("""
            drop table if exists bare_copy;
            create unlogged table bare_copy (source_record_id text, serial_number text, status text, service_date text,
              work_summary text, attachments text, updated_at text)
            """);
        var clock = Stopwatch.StartNew();
        await CopyFileAsync(connection, "bare_copy", path);
        var copy = rows / clock.Elapsed.TotalSeconds;
        await connection.ExecuteAsync("drop table bare_copy");

        Log.Step($"pos: {round}, bare one-statement upsert with audit rows");
        var beforeBare = CpuUse.Read(0);
        clock.Restart();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            // As the service role from the start, as the import: the temp table is then its own.
            await connection.ExecuteAsync("""
                set local role service_role;
                create temp table bare_in (source_record_id text, serial_number text, status text, service_date timestamptz,
                  work_summary text, attachments text, updated_at timestamptz) on commit drop
                """, transaction: transaction);
            await CopyFileAsync(connection, "bare_in", path);
            // The database's audit trigger writes each row's audit row, as it does for the import,
            // from the context set here with the import's keys.
            await connection.ExecuteAsync("""
                select set_config('perazzi_sync.audit', @Audit, true);
                insert into service_events as t (asset_id, owner_user_id, source_system, source_record_id, status, service_date,
                  work_summary, attachments, raw_payload, source_modified_at)
                select a.id, a.owner_user_id, 'perazzi_pos', i.source_record_id, i.status, i.service_date, i.work_summary,
                       to_jsonb(string_to_array(i.attachments, ';')), to_jsonb(i), i.updated_at
                from bare_in i join perazzi_assets a on a.serial_number = upper(btrim(i.serial_number)) and a.verification_status = 'verified'
                on conflict on constraint service_events_source_unique do update set
                  status = excluded.status, service_date = excluded.service_date, work_summary = excluded.work_summary,
                  attachments = excluded.attachments, raw_payload = excluded.raw_payload, source_modified_at = excluded.source_modified_at
                where t.source_modified_at < excluded.source_modified_at
                """, new
            {
                Audit = new System.Text.Json.Nodes.JsonObject
                {
                    ["source_system"] = "perazzi_pos",
                    ["import_id"] = Guid.NewGuid().ToString(),
                    ["file_name"] = Path.GetFileName(path),
                }.ToJsonString(),
            }, transaction, commandTimeout: 0);
            await transaction.CommitAsync();
        }
        var bare = rows / clock.Elapsed.TotalSeconds;
        profile.Bare.Add(beforeBare, CpuUse.Read(0), rows);
        checks.Add(await WrittenOnceAsync(connection, rows, $"{round}, bare statement"));
        await ResetAsync(connection);

        Log.Step($"pos: {round}, perazzisync pos import");
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = database.ConnectionString };
        // The Cli is a child that has exited by the second reading: its time is the benchmark's exited children's.
        var beforeImport = CpuUse.Read(0);
        clock.Restart();
        long peak;
        await using (var import = HostProcess.Start("PerazziSync.Cli", environment, "pos", "import", path))
        {
            var sampling = PeakMemoryUntilExitAsync(import);
            if (await import.WaitForExitAsync(ImportTimeout(rows)) != 0)
            {
                throw new BenchmarkFailedException($"pos import of {rows:N0} rows failed:\n{import.Output}");
            }
            peak = await sampling;
        }
        var imported = clock.Elapsed;
        profile.Import.Add(beforeImport, CpuUse.Read(0), rows);
        checks.Add(await WrittenOnceAsync(connection, rows, $"{round}, import"));

        clock.Restart();
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", environment, "pos", "import", path);
        var reimported = clock.Elapsed;
        checks.Add(new(exitCode == 0 && output.Contains("imported before", StringComparison.Ordinal),
            $"{round}: the second import did not say the file was imported before"));
        checks.Add(await WrittenOnceAsync(connection, rows, $"{round}, second import"));
        await ResetAsync(connection);

        Log.Step($"pos: {round}, perazzisync pos import with identities");
        clock.Restart();
        await using (var import = HostProcess.Start("PerazziSync.Cli", environment, "pos", "import", withIdentities))
        {
            if (await import.WaitForExitAsync(ImportTimeout(rows)) != 0)
            {
                throw new BenchmarkFailedException($"pos import of {rows:N0} rows with identities failed:\n{import.Output}");
            }
        }
        var identities = rows / clock.Elapsed.TotalSeconds;
        identityChecks.Add(await WrittenOnceAsync(connection, rows, $"{round}, import with identities"));
        identityChecks.Add(await ClaimsVerifiedOnceAsync(connection, rows / ClaimEvery, $"{round}, import with identities"));
        await ResetAsync(connection);
        return new Round(copy, bare, rows / imported.TotalSeconds, peak, imported, reimported, identities);
    }

    /// <summary>Claimed guns, each of a portal user of its own whose e-mail is confirmed, unverified: one per <see cref="ClaimEvery"/> rows.</summary>
    static async Task SeedClaimsAsync(NpgsqlConnection connection, int claims) =>
        await connection.ExecuteAsync("""
            with claimants as (
              insert into auth.users (id, email, email_confirmed_at)
              select gen_random_uuid(), 'claimant-' || n || '@bench.example', now() from generate_series(1, @Claims) n
              returning id, email
            )
            insert into perazzi_assets (owner_user_id, serial_number, model)
            select id, 'BV-' || lpad(substring(email from 'claimant-(\d+)@'), 7, '0'), 'MX8' from claimants
            """, new { Claims = claims }, commandTimeout: 600);

    /// <summary>
    /// The export of <see cref="GenerateAsync"/> with the identity columns: every <see cref="ClaimEvery"/>th
    /// row the first record of a claimed gun, naming its claimant in another letter case; the others
    /// naming the verified guns' owners.
    /// </summary>
    static async Task GenerateWithIdentitiesAsync(string path, int rows)
    {
        (string Serial, string Email, string Name)[] owned =
            [("MX8-123456", "janedoe@example.com", "Jane Doe"), ("HT-009871", "janedoe@example.com", "Jane Doe"), (" mx2000-77341 ", "Marco.Rossi@Example.it", "Marco Rossi")];
        await using var writer = new StreamWriter(path);
        await writer.WriteLineAsync(Header + ",customer_email,customer_name");
        for (var i = 0; i < rows; i++)
        {
            var claim = i / ClaimEvery + 1;
            var (serial, email, name) = i % ClaimEvery == 0
                ? (string.Create(CultureInfo.InvariantCulture, $"BV-{claim:D7}"), string.Create(CultureInfo.InvariantCulture, $"Claimant-{claim}@Bench.Example"), "Claimant")
                : owned[i % owned.Length];
            await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"WO-B-{i:D8},{serial},completed,2026-03-02T09:15:00+01:00,\"Annual service, trigger group inspection; springs replaced; test-fired \"\"OK\"\"\",service/WO-B-{i:D8}/report.pdf,2026-03-09T17:45:00+01:00,{email},{name}"));
        }
    }

    /// <summary>Every claim the export names verified by pos_match, with one asset.verify row each.</summary>
    static async Task<Check> ClaimsVerifiedOnceAsync(NpgsqlConnection connection, int claims, string side)
    {
        const string sql = """
            select (select count(*) from perazzi_assets where serial_number like 'BV-%' and verification_status = 'verified'
                      and verification_method = 'pos_match') as "Verified",
                   (select count(*) from audit_log where action = 'asset.verify') as "Audits"
            """;
        var (verified, audits) = await connection.QuerySingleAsync<(long, long)>(sql);
        return new(verified == claims && audits == claims, $"{side}: {verified:N0} claims verified and {audits:N0} asset.verify rows for {claims:N0} claims");
    }

    /// <summary>Far longer than any import should take: a slower one is stuck, and fails the run.</summary>
    static TimeSpan ImportTimeout(int rows) => TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(rows / 500.0);

    /// <summary>Every row written once with one audit row: a rate of less work is no rate.</summary>
    static async Task<Check> WrittenOnceAsync(NpgsqlConnection connection, int rows, string side)
    {
        const string sql = """
            select (select count(*) from service_events where source_record_id like 'WO-B-%') as "Rows",
                   (select count(*) from audit_log where object_type = 'service_event') as "Audits"
            """;
        var (written, audits) = await connection.QuerySingleAsync<(long, long)>(sql);
        return new(written == rows && audits == rows, $"{side}: {written:N0} rows and {audits:N0} audit rows for {rows:N0} lines");
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

    /// <summary>
    /// Takes the database back to before the side just measured. Without the tables' triggers, in
    /// one transaction: their audit rows (one per deleted row, one per claim set back) would be
    /// written only to be truncated, a minute of each reset at 1,000,000 rows on two cores.
    /// </summary>
    static async Task ResetAsync(NpgsqlConnection connection)
    {
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("""
            alter table perazzi_assets disable trigger user;
            alter table service_events disable trigger user;
            update perazzi_assets set verification_status = 'unverified', verification_method = null, verified_at = null
            where serial_number like 'BV-%' and verification_status <> 'unverified';
            delete from perazzi_sync.asset_claims;
            delete from service_events where source_record_id like 'WO-B-%';
            alter table perazzi_assets enable trigger user;
            alter table service_events enable trigger user;
            truncate audit_log, perazzi_sync.purged_messages;
            delete from perazzi_sync.pos_imports;
            """, transaction: transaction, commandTimeout: 600);
            await transaction.CommitAsync();
        }
        // VACUUM runs outside any transaction, so on its own.
        await connection.ExecuteAsync("vacuum analyze service_events", commandTimeout: 600);
        await connection.ExecuteAsync("vacuum analyze perazzi_assets", commandTimeout: 600);
        await connection.ExecuteAsync("vacuum analyze perazzi_sync.asset_claims", commandTimeout: 600);
    }
}
