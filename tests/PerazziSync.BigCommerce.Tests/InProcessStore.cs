using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.Testing;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// The sync's BigCommerce client in-process, against the fake store over HTTP, with a portal
/// database of its own: for tests of what needs no host process. A test adds its own settings
/// and services (the worker's rounds of fetches, for one).
/// </summary>
sealed class InProcessStore : IAsyncDisposable
{
    readonly PortalDataSource _portal;

    InProcessStore(PortalDataSource portal, FakeBigCommerce store, IHost host) =>
        (_portal, Store, Host) = (portal, store, host);

    public TestDatabase Database => _portal.Database;

    public FakeBigCommerce Store { get; }

    public NpgsqlDataSource DataSource => _portal.DataSource;

    public IHost Host { get; }

    public T Get<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public static async Task<InProcessStore> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var portal = await PortalDataSource.CreateAsync();
        var store = await FakeBigCommerce.StartAsync(ProductUnderTest.StoreHash);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["BigCommerce:StoreHash"] = ProductUnderTest.StoreHash,
            ["BigCommerce:AccessToken"] = FakeBigCommerce.AccessToken,
            ["BigCommerce:ApiBaseUrl"] = store.BaseUrl,
        });
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Services.AddSingleton(portal.DataSource);
        builder.Services.AddLogging();
        services?.Invoke(builder.Services);
        builder.AddBigCommerceClient();
        return new InProcessStore(portal, store, builder.Build());
    }

    public async ValueTask DisposeAsync()
    {
        // Held requests answered first, so that nothing the host stops still waits for them.
        Store.Release();
        await ((IAsyncDisposable)Host).DisposeAsync();
        await Store.DisposeAsync();
        await _portal.DisposeAsync();
    }
}
