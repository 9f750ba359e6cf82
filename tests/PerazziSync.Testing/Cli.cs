namespace PerazziSync.Testing;

/// <summary>The <c>perazzisync</c> tool, run as an operator would, against one product's database and broker.</summary>
public sealed class Cli(string postgres, string rabbitMq)
{
    public Cli(ProductUnderTest product)
        : this(product.Database.ConnectionString, product.Broker.AmqpUri)
    {
    }

    public Dictionary<string, string> Environment => new()
    {
        ["ConnectionStrings__Postgres"] = postgres,
        ["ConnectionStrings__RabbitMq"] = rabbitMq,
    };

    public Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        HostProcess.RunAsync("PerazziSync.Cli", Environment, arguments);

    public HostProcess Start(params string[] arguments) => HostProcess.Start("PerazziSync.Cli", Environment, arguments);
}
