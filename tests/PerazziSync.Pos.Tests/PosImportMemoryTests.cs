using System.Globalization;
using System.Text;
using Dapper;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// `pos import` of pathological files through the real Cli, which runs with a 150 MB GC heap
/// limit: each ends with its rows applied and its bad lines rejected, in bounded memory.
/// </summary>
public sealed class PosImportMemoryTests(ITestOutputHelper log) : IAsyncLifetime
{
    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    /// <summary>Far above the Cli's steady state (about 120 MB here) and far below a file of a few hundred MB read whole.</summary>
    const long PeakLimit = 300L << 20;

    TestDatabase _database = null!;
    readonly string _path = Path.Combine(Path.GetTempPath(), $"pathological-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        await using var connection = await _database.OpenAsync();
        await PortalUsers.SeedAsync(connection);
        await PortalUsers.SeedAssetsAsync(connection);
    }

    public async Task DisposeAsync()
    {
        File.Delete(_path + ".csv");
        File.Delete(_path + ".ndjson");
        await _database.DisposeAsync();
    }

    static string GoodRow(string prefix, int i) => string.Create(CultureInfo.InvariantCulture,
        $"{prefix}-{i:D7},HT-009871,completed,2026-03-02T09:15:00+01:00,Service {i} all good,,2026-03-02T09:20:00+01:00");

    /// <summary>Runs the import to its end, reading the process's peak resident memory (VmHWM) as it goes.</summary>
    async Task<(int ExitCode, string Output, long PeakBytes)> ImportAsync(string path)
    {
        await using var cli = HostProcess.Start("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = _database.ConnectionString,
        }, "pos", "import", path);
        var status = $"/proc/{cli.Id}/status";
        long peak = 0;
        var exited = cli.WaitForExitAsync(TimeSpan.FromMinutes(2));
        while (!exited.IsCompleted)
        {
            try
            {
                var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line is not null)
                {
                    peak = Math.Max(peak, long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024);
                }
            }
            catch (IOException)
            {
                // The process ended between two reads.
            }
            await Task.WhenAny(exited, Task.Delay(100));
        }
        var exitCode = await exited;
        log.WriteLine($"{Path.GetFileName(path)}: {new FileInfo(path).Length >> 20} MB, exit {exitCode}, peak resident memory {peak >> 20} MB");
        return (exitCode, cli.Output, peak);
    }

    async Task<ServiceEvents.Import> OutcomeAsync(string path)
    {
        await using var connection = await _database.OpenAsync();
        return await ServiceEvents.ImportAsync(connection, Path.GetFileName(path));
    }

    async Task<List<(long Line, string Reason)>> RejectionsAsync(string path)
    {
        await using var connection = await _database.OpenAsync();
        return await ServiceEvents.RejectionsAsync(connection, Path.GetFileName(path));
    }

    [Fact]
    public async Task Three_hundred_megabytes_without_a_line_break_are_one_rejected_line_naming_the_limit()
    {
        var path = _path + ".ndjson";
        await using (var file = File.Create(path))
        {
            await file.WriteAsync(Encoding.UTF8.GetBytes(
                """{"source_record_id":"WO-H-1","serial_number":"HT-009871","status":"completed","updated_at":"2026-03-02T09:20:00+01:00"}""" + "\n"));
            var chunk = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"source_record_id\":\"WO-H-2\",", 1 << 15)));
            while (file.Length < 300L << 20)
            {
                await file.WriteAsync(chunk);
            }
        }

        var (exitCode, output, peak) = await ImportAsync(path);

        Assert.True(exitCode == 0, output);
        Assert.Equal(new ServiceEvents.Import(2, 1, 0, 0, 0, 0, 1, "completed"), await OutcomeAsync(path));
        var rejection = Assert.Single(await RejectionsAsync(path));
        Assert.Equal(2, rejection.Line);
        Assert.Contains("1 MiB", rejection.Reason, StringComparison.Ordinal);
        Assert.True(peak is > 0 and < PeakLimit, $"peak resident memory {peak >> 20} MB\n{output}");
    }

    [Fact]
    public async Task An_unclosed_quote_costs_its_own_line_and_the_rows_after_it_are_applied()
    {
        const int goodRows = 100_000;
        var path = _path + ".csv";
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync(Header);
            await writer.WriteLineAsync(GoodRow("WO-Q", 0));
            await writer.WriteLineAsync("WO-Q-BROKEN,HT-009871,completed,,\"an unclosed quote,,2026-03-02T09:20:00+01:00");
            for (var i = 1; i < goodRows; i++)
            {
                if (i == goodRows / 2)
                {
                    // A line of three million commas among them.
                    await writer.WriteLineAsync("WO-Q-COMMAS" + new string(',', 3_000_000));
                }
                await writer.WriteLineAsync(GoodRow("WO-Q", i));
            }
        }

        var (exitCode, output, peak) = await ImportAsync(path);

        Assert.True(exitCode == 0, output);
        await using var connection = await _database.OpenAsync();
        Assert.Equal(goodRows, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-Q-%'"));
        Assert.Equal(new ServiceEvents.Import(goodRows + 2, goodRows, 0, 0, 0, 0, 2, "completed"), await OutcomeAsync(path));
        var rejections = await RejectionsAsync(path);
        Assert.Equal([3L, 3L + goodRows / 2], rejections.Select(r => r.Line));
        Assert.Contains("quote", rejections[0].Reason, StringComparison.Ordinal);
        Assert.Contains("1 MiB", rejections[1].Reason, StringComparison.Ordinal);
        Assert.True(peak is > 0 and < PeakLimit, $"peak resident memory {peak >> 20} MB\n{output}");
    }

    [Fact]
    public async Task A_million_bad_lines_are_rejected_with_their_reasons_chunk_by_chunk()
    {
        const int badRows = 1_000_000;
        var path = _path + ".csv";
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync(Header);
            for (var i = 0; i < badRows; i++)
            {
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"WO-B-{i:D7},HT-009871,shipped,2026-03-02T09:15:00+01:00,Bad status,,2026-03-02T09:20:00+01:00"));
            }
            await writer.WriteLineAsync(GoodRow("WO-B", badRows));
        }

        var (exitCode, output, peak) = await ImportAsync(path);

        Assert.True(exitCode == 0, output);
        Assert.Equal(new ServiceEvents.Import(badRows + 1, 1, 0, 0, 0, 0, badRows, "completed"), await OutcomeAsync(path));
        await using var connection = await _database.OpenAsync();
        Assert.Equal(badRows, await connection.ExecuteScalarAsync<long>(
            "select count(*) from perazzi_sync.pos_import_rejections where reason like 'status ''shipped'' is not one of%'"));
        Assert.Equal((2L, (long)badRows + 1), await connection.QuerySingleAsync<(long, long)>(
            "select min(line), max(line) from perazzi_sync.pos_import_rejections"));
        Assert.True(peak is > 0 and < PeakLimit, $"peak resident memory {peak >> 20} MB\n{output}");
    }
}
