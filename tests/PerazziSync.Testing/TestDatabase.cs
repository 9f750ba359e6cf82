using Npgsql;
using PerazziSync.Data;

namespace PerazziSync.Testing;

/// <summary>A database of its own for one test class, dropped when the class is done.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    readonly string _serverConnectionString;

    TestDatabase(string serverConnectionString, string name)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    /// <summary>An empty database.</summary>
    public static async Task<TestDatabase> CreateAsync()
    {
        var server = await TestServices.PostgresAsync();
        var database = new TestDatabase(server, "perazzi_test_" + Guid.NewGuid().ToString("N")[..12]);
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"create database {database.Name}", connection);
        await create.ExecuteNonQueryAsync();
        return database;
    }

    /// <summary>A database with every schema script applied.</summary>
    public static async Task<TestDatabase> CreateMigratedAsync()
    {
        var database = await CreateAsync();
        await database.MigrateAsync();
        return database;
    }

    public async Task<MigrationOutcome> MigrateAsync()
    {
        var outcome = await SchemaMigrator.MigrateAsync(ConnectionString, new DbUp.Engine.Output.NoOpUpgradeLog(), CancellationToken.None);
        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException("Migration failed: " + outcome.Error);
        }
        return outcome;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_serverConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop database if exists {Name} with (force)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
