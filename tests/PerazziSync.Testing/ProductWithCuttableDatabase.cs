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

    public static async Task<ProductWithCuttableDatabase> StartAsync()
    {
        var proxy = await ServiceProxies.PostgresAsync();
        try
        {
            return new ProductWithCuttableDatabase(proxy, await ProductUnderTest.StartAsync(workerDatabase: proxy.Through));
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
