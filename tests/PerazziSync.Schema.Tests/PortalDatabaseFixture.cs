using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Schema.Tests;

/// <summary>A migrated database holding the portal fixture data, shared by one test class.</summary>
public sealed class PortalDatabaseFixture : IAsyncLifetime
{
    TestDatabase? _database;

    public NpgsqlConnection Connection { get; private set; } = null!;

    /// <summary>Another connection to the same database, for tests that race transactions.</summary>
    public Task<NpgsqlConnection> OpenAsync() => _database!.OpenAsync();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        Connection = await _database.OpenAsync();
        await PortalFixtureData.SeedAsync(Connection);
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
