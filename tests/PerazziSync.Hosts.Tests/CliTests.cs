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
}
