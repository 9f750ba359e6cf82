using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>Receiver, one worker, the fake store, the portal users.</summary>
public sealed class SyncFixture : IAsyncLifetime
{
    public ProductUnderTest Product { get; private set; } = null!;

    public async Task InitializeAsync() => Product = await ProductUnderTest.StartAsync();

    public async Task DisposeAsync() => await Product.DisposeAsync();
}
