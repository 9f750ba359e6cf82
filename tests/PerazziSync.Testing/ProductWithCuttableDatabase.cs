namespace PerazziSync.Testing;

/// <summary>The product whose workers reach PostgreSQL through a proxy the test can cut, as an outage would.</summary>
public sealed class ProductWithCuttableDatabase : IAsyncDisposable
{
    ProductWithCuttableDatabase(TcpProxy proxy, ProductUnderTest product)
    {
        Proxy = proxy;
        Product = product;
    }

    public TcpProxy Proxy { get; }

    public ProductUnderTest Product { get; }

    /// <summary>Starts the stack; <paramref name="settings"/> adds to or overrides the hosts' settings.</summary>
    public static async Task<ProductWithCuttableDatabase> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var proxy = await ServiceProxies.PostgresAsync();
        try
        {
            return new ProductWithCuttableDatabase(proxy, await ProductUnderTest.StartAsync(settings: settings, workerDatabase: proxy.Through));
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The proxy goes first: the sessions of connections it froze (one caught while logging in
    /// among them, which no signal ends until PostgreSQL's authentication timeout) end when it
    /// closes their sockets, and only then can the test's database be dropped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        await Product.DisposeAsync();
    }
}
