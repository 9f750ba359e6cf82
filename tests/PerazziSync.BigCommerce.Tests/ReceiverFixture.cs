using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>A receiver alone, with the shared-header authentication configured besides the signature.</summary>
public sealed class ReceiverFixture : IAsyncLifetime
{
    public const string SharedHeaderName = "X-Perazzi-Hook";
    public const string SharedHeaderValue = "shared-header-value";

    public ProductUnderTest Product { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Product = await ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>
        {
            ["BigCommerce__WebhookHeaderName"] = SharedHeaderName,
            ["BigCommerce__WebhookHeaderValue"] = SharedHeaderValue,
            ["Receiver__MaxBodyBytes"] = "4096",
        });

    public async Task DisposeAsync() => await Product.DisposeAsync();
}
