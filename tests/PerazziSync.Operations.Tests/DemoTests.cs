using System.Net;
using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>
/// <c>perazzisync demo</c> against the running hosts and <c>demo remove</c>: the demo's rows
/// appear, every one of them marked as the demo's, and the removal takes all of them and nothing
/// else.
/// </summary>
public sealed class DemoTests : IAsyncLifetime
{
    readonly string _dropFolder = Directory.CreateTempSubdirectory("perazzi-demo-drop-").FullName;
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["Pos__DropFolder"] = _dropFolder,
            ["Pos__DropFolderCron"] = "0/1 * * * * ?",
            ["Pos__DropFolderSettleTime"] = "00:00:00",
        });

    public async Task DisposeAsync()
    {
        await _product.DisposeAsync();
        Directory.Delete(_dropFolder, recursive: true);
    }

    Task<(int ExitCode, string Output)> CliAsync(params string[] arguments) =>
        HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = _product.Database.ConnectionString,
            ["Pos__WebhookSecret"] = WebhookSender.PosSecret,
            ["Pos__DropFolder"] = _dropFolder,
            ["RECEIVER_URLS"] = _product.ReceiverUrl,
        }, arguments);

    /// <summary>Every row of the tables the demo writes to, with what marks it as the demo's (or not).</summary>
    static async Task<Dictionary<string, string>> RowsAsync(NpgsqlConnection connection) =>
        (await connection.QueryAsync<(string Row, string Mark)>("""
            select 'auth.users:' || id, coalesce(email, '') from auth.users
            union all select 'profiles:' || id, coalesce(email, '') from profiles
            union all select 'perazzi_assets:' || id, serial_number from perazzi_assets
            union all select 'service_events:' || id, source_record_id from service_events
            union all select 'parked_events:' || id, source_key from perazzi_sync.parked_events
            union all select 'pos_imports:' || id, file_name from perazzi_sync.pos_imports
            union all select 'audit_log:' || id, action || ' ' || coalesce(metadata::text, '') from audit_log
            """)).ToDictionary(r => r.Row, r => r.Mark);

    static bool IsMarked(string row, string mark) => row.Split(':')[0] switch
    {
        "auth.users" or "profiles" => mark.EndsWith("@demo.perazzisync.invalid", StringComparison.Ordinal),
        "perazzi_assets" or "service_events" or "parked_events" => mark.StartsWith("DEMO-", StringComparison.Ordinal),
        "pos_imports" => mark.StartsWith("demo-", StringComparison.Ordinal),
        _ => mark.Contains("\"demo\": true", StringComparison.Ordinal)
            || mark.Contains("\"source_key\": \"DEMO-", StringComparison.Ordinal)
            || mark.Contains("\"delivery_id\": \"demo-", StringComparison.Ordinal)
            || mark.Contains("\"file_name\": \"demo-", StringComparison.Ordinal),
    };

    [Fact]
    public async Task The_demo_writes_only_marked_rows_and_remove_removes_all_of_them_and_nothing_else()
    {
        // Real data beside the demo's: the fixture users and guns, and a real POS callback.
        var real = await _product.PosWebhooks.SendAsync(
            await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", "callback-completed.json")));
        Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        await using var connection = await _product.OpenDatabaseAsync();
        await ProductUnderTest.EventuallyAsync(
            "the POS callback WO-2026-0007 audited",
            () => connection.ExecuteScalarAsync<long>("select count(*) from audit_log where metadata->>'source_key' = 'WO-2026-0007'"), n => n == 1,
            diagnostics: _product.Logs);
        var before = await RowsAsync(connection);

        var demo = await CliAsync("demo", "--as", "ops.anna");

        Assert.True(demo.ExitCode == 0, demo.Output + "\n" + _product.Logs());
        var during = await RowsAsync(connection);
        var added = during.Where(r => !before.ContainsKey(r.Key)).ToList();
        Assert.All(added, r => Assert.True(IsMarked(r.Key, r.Value), $"unmarked row written by the demo: {r.Key} {r.Value}"));
        Assert.Equal(before.Count, during.Count(r => before.ContainsKey(r.Key)));
        var events = (await connection.QueryAsync<(string Record, string Status, string Raw)>(
            "select source_record_id, status, raw_payload::text from service_events where source_record_id like 'DEMO-%' order by 1")).ToList();
        Assert.Equal(["DEMO-WO-0001", "DEMO-WO-0002"], events.Select(e => e.Record));
        Assert.Equal("completed", events[0].Status);
        Assert.Contains("\"demo\": true", events[0].Raw, StringComparison.Ordinal);
        Assert.Equal("unknown_serial", await connection.ExecuteScalarAsync<string>(
            "select reason from perazzi_sync.parked_events where source_key = 'DEMO-WO-0003'"));
        Assert.Equal("verified", await connection.ExecuteScalarAsync<string>(
            "select verification_status from perazzi_assets where serial_number = 'DEMO-MX8-0001'"));
        Assert.Equal(4, added.Count(r => r.Value.StartsWith("service_event.upsert", StringComparison.Ordinal)));
        foreach (var shown in new[] { "DEMO-WO-0001", "DEMO-WO-0002", "DEMO-WO-0003", "unknown_serial", "shipped", "service_event.upsert", "demo.seed" })
        {
            Assert.Contains(shown, demo.Output, StringComparison.Ordinal);
        }

        var remove = await CliAsync("demo", "remove", "--as", "ops.anna");

        Assert.True(remove.ExitCode == 0, remove.Output);
        var after = await RowsAsync(connection);
        Assert.Equal(before.Keys.Order(), after.Keys.Where(before.ContainsKey).Order());
        var left = Assert.Single(after, r => !before.ContainsKey(r.Key));
        Assert.StartsWith("demo.remove ", left.Value, StringComparison.Ordinal);
        Assert.Contains("\"operator\": \"ops.anna\"", left.Value, StringComparison.Ordinal);
        Assert.False(IsMarked(left.Key, left.Value));
        Assert.Empty(Directory.EnumerateFiles(_dropFolder, "demo-*", SearchOption.AllDirectories));
    }
}
