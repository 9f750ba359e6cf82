using Npgsql;
using PerazziSync.Data;

namespace PerazziSync.Testing;

/// <summary>What a test database is before the product's migrations run.</summary>
public enum DatabaseFlavour
{
    /// <summary>Prepared as a Supabase project is (<see cref="SupabaseLikeDatabase"/>), the product connected as Supabase's <c>postgres</c> role.</summary>
    Supabase,

    /// <summary>Plain PostgreSQL: the product's bootstrap creates the stand-ins; the product connects as the server's superuser.</summary>
    Plain,
}

/// <summary>A database of its own for one test class, dropped when the class is done.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    /// <summary>The environment variable that chooses the flavour of every test database: <c>supabase</c> (default) or <c>plain</c>.</summary>
    public const string FlavourVariable = "PERAZZI_TEST_DATABASE";

    readonly string _serverConnectionString;

    TestDatabase(string serverConnectionString, string name, DatabaseFlavour flavour, string connectionString)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        Flavour = flavour;
        ConnectionString = connectionString;
    }

    /// <summary>The flavour tests get unless they ask for one: from <see cref="FlavourVariable"/>.</summary>
    public static DatabaseFlavour DefaultFlavour { get; } = Environment.GetEnvironmentVariable(FlavourVariable) switch
    {
        null or "" or "supabase" => DatabaseFlavour.Supabase,
        "plain" => DatabaseFlavour.Plain,
        var other => throw new InvalidOperationException($"{FlavourVariable} is '{other}'; it must be supabase or plain."),
    };

    public string Name { get; }

    public DatabaseFlavour Flavour { get; }

    /// <summary>How the product connects: as Supabase's <c>postgres</c> role on a Supabase-like database, as the superuser on a plain one.</summary>
    public string ConnectionString { get; }

    /// <summary>An empty database of the <see cref="DefaultFlavour"/>: the product's migrations not applied.</summary>
    public static Task<TestDatabase> CreateAsync() => CreateAsync(DefaultFlavour);

    public static async Task<TestDatabase> CreateAsync(DatabaseFlavour flavour)
    {
        var server = await TestServices.PostgresAsync();
        var name = "perazzi_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = flavour == DatabaseFlavour.Supabase
            ? await SupabaseLikeDatabase.PrepareAsync(server, name)
            : new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        return new TestDatabase(server, name, flavour, connectionString);
    }

    /// <summary>A database of the <see cref="DefaultFlavour"/> with every schema script applied.</summary>
    public static Task<TestDatabase> CreateMigratedAsync() => CreateMigratedAsync(DefaultFlavour);

    public static async Task<TestDatabase> CreateMigratedAsync(DatabaseFlavour flavour)
    {
        var database = await CreateAsync(flavour);
        await database.MigrateAsync();
        return database;
    }

    /// <summary>A migrated database of the <see cref="DefaultFlavour"/> holding the portal users and their assets (<see cref="PortalUsers"/>).</summary>
    public static async Task<TestDatabase> CreatePortalAsync()
    {
        var database = await CreateMigratedAsync();
        await using var connection = await database.OpenAsync();
        await PortalUsers.SeedAsync(connection);
        await PortalUsers.SeedAssetsAsync(connection);
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

    /// <summary>A connection as the product connects (see <see cref="ConnectionString"/>).</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>A connection as the server's superuser, for what only Supabase's own roles may do (e.g. act as GoTrue).</summary>
    public async Task<NpgsqlConnection> OpenAsSuperuserAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_serverConnectionString) { Database = Name }.ConnectionString);
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
