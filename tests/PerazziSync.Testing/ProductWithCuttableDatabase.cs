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

    public async ValueTask DisposeAsync()
    {
        await Product.DisposeAsync();
        await Proxy.DisposeAsync();
    }
}
