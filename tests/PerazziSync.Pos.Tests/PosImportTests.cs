using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>`perazzisync pos import FILE` against the samples of fixtures/pos and against a large export.</summary>
public sealed class PosImportTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", name);

    static Task<(int ExitCode, string Output)> ImportAsync(TestDatabase database, string path) =>
        HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
        }, "pos", "import", path);

    [Theory]
    [InlineData("BatchWriteTimeout", "00:00:00")]
    [InlineData("UpdatedAtMaxAhead", "7.00:00:01")]
    [InlineData("ImportChunkSize", "abc")]
    [InlineData("BatchWriteTimeout", "ten minutes")]
    public async Task A_pos_setting_out_of_range_is_refused_naming_it_before_anything_is_imported(string setting, string value)
    {
        await using var database = await TestDatabase.CreatePortalAsync();

        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Pos__" + setting] = value,
        }, "pos", "import", Fixture("export-sample.csv"));

        Assert.True(exitCode == 2, output);
        Assert.Contains("Pos:" + setting, output, StringComparison.Ordinal);
        await using var connection = await database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.pos_imports"));
        Assert.Empty(await ServiceEvents.AllAsync(connection));
    }

    [Theory]
    [InlineData(";Max Pool Size=1")]
    [InlineData(";Port=fifty")]
    [InlineData(";Password")]
    public async Task A_connection_string_npgsql_cannot_read_is_refused_naming_the_setting_never_the_password(string unreadable)
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        const string password = "not-for-the-terminal";

        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = $"Host=127.0.0.1;Password={password}{unreadable}",
        }, "pos", "import", Fixture("export-sample.csv"));

        Assert.True(exitCode == 2, output);
        Assert.Contains("ConnectionStrings:Postgres is not an Npgsql connection string", output, StringComparison.Ordinal);
        Assert.DoesNotContain(password, output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_export_of_one_chunk_is_imported_on_one_connection()
    {
        await using var database = await TestDatabase.CreatePortalAsync();

        // A pool of one connection: an import opening a second would wait for it and fail after 5 s.
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString + ";Maximum Pool Size=1;Timeout=5",
        }, "pos", "import", Fixture("export-sample.csv"));

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        Assert.Equal("completed", (await ServiceEvents.ImportAsync(connection, "export-sample.csv")).Status);
        Assert.Equal(3, await ServiceEvents.AuditCountAsync(connection));
    }

    /// <summary>Takes (<c>pg_advisory_lock</c>) or releases the lock an import of <paramref name="path"/>'s content holds, as another import would.</summary>
    static async Task ContentLockAsync(NpgsqlConnection connection, string path, string function) =>
        await connection.ExecuteAsync($"select {function}(hashtextextended('pos-import:' || @Hash, 0))",
            new { Hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))) });

    /// <summary>Waits until <paramref name="cli"/>'s import waits for the lock another import holds, trying it again and again.</summary>
    static async Task WaitingForTheLockAsync(NpgsqlConnection connection, HostProcess cli) =>
        await ProductUnderTest.EventuallyAsync(
            "the import waiting for the other's lock",
            async () => cli.Output.Contains("Another import of the same content", StringComparison.Ordinal)
                ? await connection.ExecuteScalarAsync<long>("""
                    select count(*) from pg_stat_activity
                    where datname = current_database() and pid <> pg_backend_pid() and query like '%advisory_lock(%'
                    """)
                : 0,
            n => n == 1, diagnostics: () => cli.Output);

    [Fact]
    public async Task An_import_of_content_another_import_holds_waits_for_it_past_the_command_timeout_then_imports()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var path = Fixture("export-sample.csv");
        await using var other = await database.OpenAsync();
        await ContentLockAsync(other, path, "pg_advisory_lock");

        // Every statement of the Cli's connections gives up after 2 s, unless told otherwise.
        await using var waiting = HostProcess.Start("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString + ";Command Timeout=2",
        }, "pos", "import", path);
        await WaitingForTheLockAsync(other, waiting);
        Assert.Contains("Another import of the same content as export-sample.csv is running; waiting for it to end", waiting.Output, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.False(waiting.HasExited, waiting.Output);

        await ContentLockAsync(other, path, "pg_advisory_unlock");

        Assert.True(await waiting.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, waiting.Output);
        Assert.Equal("completed", (await ServiceEvents.ImportAsync(other, "export-sample.csv")).Status);
        Assert.Equal(3, await ServiceEvents.AuditCountAsync(other));
    }

    [Fact]
    public async Task An_import_whose_connection_falls_silent_while_it_waits_gives_up_and_frees_the_file_for_the_next_import()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        await using var proxy = await ServiceProxies.PostgresAsync();
        var path = Fixture("export-sample.csv");
        await using var other = await database.OpenAsync();
        await ContentLockAsync(other, path, "pg_advisory_lock");
        await using var silent = HostProcess.Start("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = proxy.Through(database.ConnectionString) + ";Command Timeout=6",
            ["Pos__BatchWriteTimeout"] = "00:00:03",
        }, "pos", "import", path);
        await WaitingForTheLockAsync(other, silent);

        // The import's next try is held back until the lock is released: it is granted the lock,
        // and the answer saying so is lost. (Held only once the answer to the try before it is
        // back, so no refusal is what gets lost.)
        proxy.HoldRequests();
        await ProductUnderTest.EventuallyAsync("the import's next try held in the proxy", () => Task.FromResult(proxy.HeldRequests), n => n == 1, diagnostics: () => silent.Output);
        await ContentLockAsync(other, path, "pg_advisory_unlock");
        proxy.FreezeAnswers();
        proxy.ReleaseRequests();
        Task<long> HeldAsync() => other.ExecuteScalarAsync<long>("""
            select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and a.datname = current_database()
            """);
        await ProductUnderTest.EventuallyAsync("the silent session holding the lock", HeldAsync, n => n == 1, diagnostics: () => silent.Output);
        await ProductUnderTest.EventuallyAsync(
            "PostgreSQL ending the silent session after Pos__BatchWriteTimeout, and the lock with it", HeldAsync, n => n == 0,
            TimeSpan.FromSeconds(30), () => silent.Output);
        // The import hears nothing more, and gives up after the command timeout.
        Assert.True(await silent.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 1, silent.Output);
        Assert.Contains("PostgreSQL: ", silent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", silent.Output, StringComparison.Ordinal);

        var (exitCode, output) = await ImportAsync(database, path);

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("Another import", output, StringComparison.Ordinal);
        Assert.Equal("completed", (await ServiceEvents.ImportAsync(other, "export-sample.csv")).Status);
        Assert.Equal(3, await ServiceEvents.AuditCountAsync(other));
    }

    [Fact]
    public async Task A_database_that_cannot_be_reached_or_refuses_the_login_is_named_with_its_reason_not_a_stack_trace()
    {
        var closed = LoopbackPort.Reserve();

        var unreachable = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = $"Host=127.0.0.1;Port={closed};Username=postgres;Password=not-the-password;Database=portal",
        }, "pos", "import", Fixture("export-sample.csv"));

        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains($"PostgreSQL: Failed to connect to 127.0.0.1:{closed}", unreachable.Output, StringComparison.Ordinal);

        await using var database = await TestDatabase.CreatePortalAsync();
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = "not-the-password" };
        var refused = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = builder.ConnectionString,
        }, "migrate");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("PostgreSQL: password authentication failed", refused.Output, StringComparison.Ordinal);
        Assert.Contains("SQLSTATE 28P01", refused.Output, StringComparison.Ordinal);
        foreach (var output in new[] { unreachable.Output, refused.Output })
        {
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("not-the-password", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_file_whose_bytes_cannot_be_read_is_named_with_the_reason_and_exit_1_not_a_stack_trace()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var folder = Directory.CreateTempSubdirectory("pos-unreadable-").FullName;
        try
        {
            // An export every read of which fails with an I/O error (EIO), even for root: the
            // reading process's own memory at address 0, which is never mapped.
            var path = Path.Combine(folder, "export.csv");
            File.CreateSymbolicLink(path, "/proc/self/mem");

            var (exitCode, output) = await ImportAsync(database, path);

            Assert.True(exitCode == 1, output);
            Assert.Contains("export.csv: the file cannot be read: ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_named_pipe_is_refused_at_once_with_exit_1_instead_of_waiting_for_a_writer()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var folder = Directory.CreateTempSubdirectory("pos-pipe-").FullName;
        try
        {
            var path = Path.Combine(folder, "x.csv");
            await NamedPipe.CreateAsync(path);

            await using var cli = HostProcess.Start("PerazziSync.Cli", new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = database.ConnectionString,
            }, "pos", "import", path);
            // Opening a named pipe to read waits for a writer, which never comes.
            var exitCode = await cli.WaitForExitAsync(TimeSpan.FromSeconds(30));

            Assert.True(exitCode == 1, cli.Output);
            Assert.Contains("x.csv: it is a named pipe (FIFO), not a regular file", cli.Output, StringComparison.Ordinal);
            await using var connection = await database.OpenAsync();
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.pos_imports"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_file_the_operator_names_is_imported_though_it_has_another_hard_link()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var folder = Directory.CreateTempSubdirectory("pos-hardlink-").FullName;
        try
        {
            // The drop folder refuses such a file; the operator chose this one.
            var original = Path.Combine(folder, "original.csv");
            File.Copy(Fixture("export-sample.csv"), original);
            var linked = Path.Combine(folder, "linked.csv");
            await HardLink.CreateAsync(original, linked);

            var (exitCode, output) = await ImportAsync(database, linked);

            Assert.True(exitCode == 0, output);
            await using var connection = await database.OpenAsync();
            Assert.Equal(["WO-2026-0001", "WO-2026-0002", "WO-2026-0007"], (await ServiceEvents.AllAsync(connection)).Keys.Order());
            Assert.Equal("completed", (await ServiceEvents.ImportAsync(connection, "linked.csv")).Status);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Csv_sample_gives_the_outcome_its_readme_states_and_a_second_import_changes_nothing()
    {
        await using var database = await TestDatabase.CreatePortalAsync();

        var (exitCode, output) = await ImportAsync(database, Fixture("export-sample.csv"));

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        var events = await ServiceEvents.AllAsync(connection);
        Assert.Equal(["WO-2026-0001", "WO-2026-0002", "WO-2026-0007"], events.Keys.Order());
        var first = events["WO-2026-0001"];
        Assert.Equal("completed", first.Status);
        Assert.Equal("""["service/WO-2026-0001/intake.jpg", "service/WO-2026-0001/report.pdf"]""", first.Attachments);
        Assert.EndsWith("test-fired \"OK\"", first.WorkSummary, StringComparison.Ordinal);
        var second = events["WO-2026-0002"];
        Assert.Equal(PortalUsers.Marco, second.OwnerUserId);
        Assert.Equal("Stock refit — walnut, grade SC3\nCustomer requests oil finish", second.WorkSummary);
        // 10:00 in Rome in March (CET, +01:00).
        Assert.Equal(new DateTime(2026, 3, 10, 9, 0, 0, DateTimeKind.Utc), second.ServiceDate!.Value.ToUniversalTime());
        Assert.Equal("Barrel regulation — point of impact 60/40 → 70/30", events["WO-2026-0007"].WorkSummary);
        Assert.Equal(PortalUsers.Jane, events["WO-2026-0007"].OwnerUserId);

        Assert.Equal(
            new Dictionary<string, string> { ["WO-2026-0003"] = "unknown_serial", ["WO-2026-0008"] = "asset_not_verified" },
            await ServiceEvents.OpenParkedAsync(connection));
        var import = await ServiceEvents.ImportAsync(connection, "export-sample.csv");
        Assert.Equal(new ServiceEvents.Import(11, 3, 2, 0, 1, 2, 3, "completed"), import);
        var rejections = await ServiceEvents.RejectionsAsync(connection, "export-sample.csv");
        Assert.Equal([8L, 9L, 10L], rejections.Select(r => r.Line));
        Assert.Contains("shipped", rejections[0].Reason, StringComparison.Ordinal);
        Assert.Contains("serial_number", rejections[1].Reason, StringComparison.Ordinal);
        Assert.Contains("service_date", rejections[2].Reason, StringComparison.Ordinal);
        Assert.Contains("shipped", output, StringComparison.Ordinal);
        Assert.Equal(3, await ServiceEvents.AuditCountAsync(connection));

        var again = await ImportAsync(database, Fixture("export-sample.csv"));

        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("imported before", again.Output, StringComparison.Ordinal);
        Assert.Equal(3, await ServiceEvents.AuditCountAsync(connection));
        Assert.Equal(events, await ServiceEvents.AllAsync(connection));
    }

    [Fact]
    public async Task Ndjson_sample_keeps_extra_fields_accepts_missing_optional_ones_and_reports_the_bad_line()
    {
        await using var database = await TestDatabase.CreatePortalAsync();

        var (exitCode, output) = await ImportAsync(database, Fixture("export-sample.ndjson"));

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        var events = await ServiceEvents.AllAsync(connection);
        Assert.Equal(["WO-2026-0101", "WO-2026-0103", "WO-2026-0104"], events.Keys.Order());
        Assert.Equal("completed", events["WO-2026-0101"].Status);
        Assert.Contains("\"technician\": \"G. Bianchi\"", events["WO-2026-0103"].RawPayload, StringComparison.Ordinal);
        Assert.Null(events["WO-2026-0104"].ServiceDate);
        Assert.Null(events["WO-2026-0104"].WorkSummary);
        Assert.Equal(new Dictionary<string, string> { ["WO-2026-0102"] = "unknown_serial" }, await ServiceEvents.OpenParkedAsync(connection));
        Assert.Equal([5L], (await ServiceEvents.RejectionsAsync(connection, "export-sample.ndjson")).Select(r => r.Line));
        Assert.Equal(new ServiceEvents.Import(6, 3, 1, 0, 0, 1, 1, "completed"), await ServiceEvents.ImportAsync(connection, "export-sample.ndjson"));

        var again = await ImportAsync(database, Fixture("export-sample.ndjson"));
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(3, await ServiceEvents.AuditCountAsync(connection));
    }

    [Fact]
    public async Task The_same_rows_in_another_file_are_unchanged_and_write_no_audit_row()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        await ImportAsync(database, Fixture("export-sample.csv"));
        var copy = Path.Combine(Path.GetTempPath(), $"same-rows-{Guid.NewGuid():N}.csv");
        // The same rows behind a byte-order mark: other bytes, same records.
        var text = await File.ReadAllTextAsync(Fixture("export-sample.csv"));
        await File.WriteAllTextAsync(copy, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        try
        {
            var (exitCode, output) = await ImportAsync(database, copy);

            Assert.True(exitCode == 0, output);
            await using var connection = await database.OpenAsync();
            var import = await ServiceEvents.ImportAsync(connection, Path.GetFileName(copy));
            Assert.Equal(0, import.Applied);
            Assert.Equal(3, import.Unchanged);
            Assert.Equal(3, import.Rejected);
            Assert.Equal(3, await ServiceEvents.AuditCountAsync(connection));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public async Task A_file_without_the_required_columns_is_refused_with_a_clear_error()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var path = Path.Combine(Path.GetTempPath(), $"no-header-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(path, "id,serial\nWO-1,MX8-123456\n");
        try
        {
            var (exitCode, output) = await ImportAsync(database, path);

            Assert.Equal(1, exitCode);
            Assert.Contains("source_record_id", output, StringComparison.Ordinal);
            await using var connection = await database.OpenAsync();
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from service_events"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Two chunks are written at once, so an import can stop with a later chunk committed and an
    /// earlier one not. Resumed, it writes the lines no committed chunk covers and neither writes
    /// nor counts the others again.
    /// </summary>
    [Fact]
    public async Task An_import_stopped_with_a_later_chunk_committed_before_an_earlier_one_resumes_with_the_lines_between()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var path = Path.Combine(Path.GetTempPath(), $"holes-{Guid.NewGuid():N}.csv");
        var lines = new List<string> { "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at" };
        // Lines 2 to 9 of the file.
        lines.AddRange(Enumerable.Range(2, 8).Select(line => $"WO-H-{line},MX8-123456,completed,,Service,,2026-03-02T09:20:00Z"));
        await File.WriteAllLinesAsync(path, lines);
        try
        {
            await using var connection = await database.OpenAsync();
            // As an earlier attempt leaves it: lines 1 to 3 and 6 to 7 committed (two rows each), 4 to 5 not.
            await connection.ExecuteAsync("""
                insert into perazzi_sync.pos_imports (content_hash, file_name, format, next_line, committed_lines, rows_read, applied)
                values (@Hash, @FileName, 'csv', 4, '{[1,4),[6,8)}', 4, 4)
                """, new { Hash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))), FileName = Path.GetFileName(path) });

            var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = database.ConnectionString,
                ["Pos__ImportChunkSize"] = "1",
            }, "pos", "import", path);

            Assert.True(exitCode == 0, output);
            var written = (await connection.QueryAsync<string>(
                "select source_record_id from service_events where source_record_id like 'WO-H-%' order by source_record_id")).ToList();
            Assert.Equal(["WO-H-4", "WO-H-5", "WO-H-8", "WO-H-9"], written);
            Assert.Equal(4, await ServiceEvents.AuditCountAsync(connection));
            Assert.Equal(new ServiceEvents.Import(8, 8, 0, 0, 0, 0, 0, "completed"), await ServiceEvents.ImportAsync(connection, Path.GetFileName(path)));
            Assert.Equal(10, await connection.ExecuteScalarAsync<long>("select next_line from perazzi_sync.pos_imports"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task An_import_killed_midway_resumes_and_applies_every_row_exactly_once()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        const int rows = 150_000;
        var path = Path.Combine(Path.GetTempPath(), $"large-{Guid.NewGuid():N}.csv");
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync("source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at");
            for (var i = 0; i < rows; i++)
            {
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"WO-L-{i:D7},MX8-123456,completed,2026-03-02T09:15:00+01:00,\"Service {i}, all good\",,2026-03-02T09:20:00+01:00"));
            }
        }
        try
        {
            var environment = new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = database.ConnectionString,
                ["Pos__ImportChunkSize"] = "5000",
            };
            await using (var first = HostProcess.Start("PerazziSync.Cli", environment, "pos", "import", path))
            {
                await using var watch = await database.OpenAsync();
                var committed = await ProductUnderTest.EventuallyAsync(
                    "20,000 rows read before the kill",
                    () => watch.ExecuteScalarAsync<long>("select coalesce(max(rows_read), 0) from perazzi_sync.pos_imports"),
                    read => read >= 20_000 || first.HasExited, TimeSpan.FromSeconds(120), () => first.Output);
                Assert.True(committed is >= 20_000 and < rows, $"killed at {committed} rows\n{first.Output}");
            }

            var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", environment, "pos", "import", path);

            Assert.True(exitCode == 0, output);
            await using var connection = await database.OpenAsync();
            Assert.Equal(rows, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-L-%'"));
            Assert.Equal(rows, await ServiceEvents.AuditCountAsync(connection));
            var import = await ServiceEvents.ImportAsync(connection, Path.GetFileName(path));
            Assert.Equal(new ServiceEvents.Import(rows, rows, 0, 0, 0, 0, 0, "completed"), import);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
