using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Hosts.Tests;

public sealed class CliTests
{
    [Fact]
    public async Task Help_lists_the_migrate_verb()
    {
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>(), "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("migrate", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_creates_the_schema_and_a_second_run_changes_nothing()
    {
        await using var database = await TestDatabase.CreateAsync();
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = database.ConnectionString };

        var first = await HostProcess.RunAsync("PerazziSync.Cli", environment, "migrate");
        var second = await HostProcess.RunAsync("PerazziSync.Cli", environment, "migrate");

        Assert.Equal(0, first.ExitCode);
        var scripts = typeof(PerazziSync.Data.SchemaMigrator).Assembly.GetManifestResourceNames()
            .Count(name => name.StartsWith("schema/", StringComparison.Ordinal));
        Assert.Contains($"Applied {scripts} script(s).", first.Output, StringComparison.Ordinal);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("nothing to apply", second.Output, StringComparison.Ordinal);
        await using var connection = await database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from service_events"));
    }

    [Fact]
    public async Task Migrate_without_a_connection_string_says_which_variable_to_set()
    {
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>(), "migrate");

        Assert.Equal(2, exitCode);
        Assert.Contains("ConnectionStrings__Postgres", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hooks_status_refuses_a_store_hash_with_a_slash_in_one_line_naming_the_setting()
    {
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            // Refused before it is used: nothing listens on port 1.
            ["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=1;Username=nobody",
            ["BigCommerce__ApiBaseUrl"] = "http://127.0.0.1:1",
            ["BigCommerce__StoreHash"] = "teststore/v3/hooks?",
            ["BigCommerce__AccessToken"] = "token",
        }, "hooks", "status");

        Assert.Equal(2, exitCode);
        var refusal = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("BigCommerce__StoreHash", refusal, StringComparison.Ordinal);
        Assert.Contains("letters and digits only", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hooks_status_without_a_store_exits_2_in_one_line_naming_the_settings_with_nothing_to_restart()
    {
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=1;Username=nobody",
        }, "hooks", "status");

        Assert.Equal(2, exitCode);
        var refusal = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal("No store yet: set BigCommerce__StoreHash and BigCommerce__AccessToken (a store-level API account) and run this again.", refusal);
    }

    [Theory]
    [InlineData("no-such-verb")]
    [InlineData("hooks", "ensure")]
    [InlineData("pos", "import")]
    [InlineData("dlq", "list", "--since", "yesterday")]
    [InlineData("dlq", "list", "--limit", "-5")]
    [InlineData("dlq", "purged", "--limit", "0")]
    [InlineData("dlq", "purged", "show")]
    [InlineData("parked", "list", "--source", "pos")]
    [InlineData("parked", "retry", "--source", "shopify")]
    public async Task A_command_line_it_cannot_read_exits_2_saying_why_before_any_work(params string[] arguments)
    {
        // No connection strings: a command line read as valid would stop at them instead, also
        // with 2, so the message is what tells the two apart.
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>(), arguments);

        Assert.Equal(2, exitCode);
        Assert.DoesNotContain("is not set (environment variable", output, StringComparison.Ordinal);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parked_list_shows_open_parked_events_filtered_by_source_and_reason()
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using (var connection = await database.OpenAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, """
                insert into perazzi_sync.parked_events (source_system, source_key, reason, message_type, message)
                values ('bigcommerce', 'order:305', 'guest_order', 'BigCommerceOrderChanged', '{}'),
                       ('bigcommerce', 'order:306', 'no_confirmed_portal_user', 'BigCommerceOrderChanged', '{}'),
                       ('perazzi_pos', 'WO-2026-0003', 'unknown_serial', 'PosServiceRecord', '{}'),
                       ('perazzi_pos', 'WO-2026-0004', 'asset_not_verified', 'PosServiceRecord', '{}'),
                       ('perazzi_pos', 'WO-2026-0009', 'unknown_serial', 'PosServiceRecord', '{}');
                update perazzi_sync.parked_events set resolved_at = now() where source_key = 'WO-2026-0009';
                """);
        }
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = database.ConnectionString };

        var open = await HostProcess.RunAsync("PerazziSync.Cli", environment, "parked", "list");
        var pos = await HostProcess.RunAsync("PerazziSync.Cli", environment, "parked", "list", "--source", "perazzi_pos", "--all");
        var unknownSerial = await HostProcess.RunAsync("PerazziSync.Cli", environment, "parked", "list", "--reason", "unknown_serial");
        var guests = await HostProcess.RunAsync("PerazziSync.Cli", environment, "parked", "list", "--source", "bigcommerce", "--reason", "guest_order");

        Assert.Equal(0, open.ExitCode);
        Assert.Equal(["WO-2026-0003", "WO-2026-0004", "order:305", "order:306"], Keys(open.Output));
        Assert.Contains("4 parked event(s).", open.Output, StringComparison.Ordinal);
        Assert.Equal(0, pos.ExitCode);
        Assert.Equal(["WO-2026-0003", "WO-2026-0004", "WO-2026-0009"], Keys(pos.Output));
        Assert.Equal(0, unknownSerial.ExitCode);
        Assert.Equal(["WO-2026-0003"], Keys(unknownSerial.Output));
        Assert.Equal(0, guests.ExitCode);
        Assert.Equal(["order:305"], Keys(guests.Output));
    }

    /// <summary>The source keys a <c>parked list</c> shows, sorted.</summary>
    static List<string> Keys(string output) =>
        System.Text.RegularExpressions.Regex.Matches(output, @"\b(order:\d+|WO-\d{4}-\d{4})\b").Select(m => m.Value).Distinct().Order(StringComparer.Ordinal).ToList();
}
