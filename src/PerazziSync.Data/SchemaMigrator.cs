using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using Npgsql;

namespace PerazziSync.Data;

/// <summary>Applies the numbered scripts of <c>schema/</c> that the database has not seen yet.</summary>
public static class SchemaMigrator
{
    // DbUp's journal lives outside `public`, which Supabase exposes through its REST API.
    public const string JournalSchema = "perazzi_sync";
    public const string JournalTable = "schema_versions";

    // Two hosts migrating at once would both see an empty journal; they take turns instead.
    const long MigrationLockKey = 0x5045_5241_5A5A_4931;

    public static async Task<MigrationOutcome> MigrateAsync(
        string connectionString, IUpgradeLog log, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // Waits as long as the other migration runs, however long that is.
        await using (var lockCommand = new NpgsqlCommand("select pg_advisory_lock(@key)", connection) { CommandTimeout = 0 })
        {
            lockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await using (var schemaCommand = new NpgsqlCommand(
                $"create schema if not exists {JournalSchema}", connection))
            {
                await schemaCommand.ExecuteNonQueryAsync(cancellationToken);
            }

            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(
                    Assembly.GetExecutingAssembly(),
                    name => name.StartsWith("schema/", StringComparison.Ordinal))
                .JournalToPostgresqlTable(JournalSchema, JournalTable)
                // The scripts use dollar quoting ($$, $f$), which DbUp would read as its variables.
                .WithVariablesDisabled()
                .WithTransactionPerScript()
                .LogTo(log)
                .Build();

            var result = upgrader.PerformUpgrade();
            var applied = result.Scripts.Select(s => s.Name).ToList();
            return result.Successful
                ? new MigrationOutcome(applied, null)
                : new MigrationOutcome(applied, result.ErrorScript?.Name + ": " + result.Error.Message);
        }
        finally
        {
            // The lock belongs to the session, and a pooled connection's session outlives Close.
            await using var unlockCommand = new NpgsqlCommand("select pg_advisory_unlock(@key)", connection);
            unlockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            await unlockCommand.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}

/// <param name="Applied">Scripts applied by this run (empty when the database was up to date).</param>
/// <param name="Error">Why the run stopped, or null when it succeeded.</param>
public sealed record MigrationOutcome(IReadOnlyList<string> Applied, string? Error)
{
    public bool Succeeded => Error is null;
}
