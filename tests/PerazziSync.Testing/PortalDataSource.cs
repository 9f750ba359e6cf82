using Npgsql;

namespace PerazziSync.Testing;

/// <summary>
/// A portal database of its own (<see cref="TestDatabase.CreatePortalAsync"/>) and a data source
/// on it, for a test that calls the product's writers directly instead of through its hosts.
/// </summary>
public sealed class PortalDataSource : IAsyncDisposable
{
    PortalDataSource(TestDatabase database)
    {
        Database = database;
        DataSource = NpgsqlDataSource.Create(database.ConnectionString);
    }

    public TestDatabase Database { get; }

    /// <summary>Connections as the product makes them (see <see cref="TestDatabase.ConnectionString"/>).</summary>
    public NpgsqlDataSource DataSource { get; }

    public static async Task<PortalDataSource> CreateAsync() => new(await TestDatabase.CreatePortalAsync());

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await Database.DisposeAsync();
    }
}
