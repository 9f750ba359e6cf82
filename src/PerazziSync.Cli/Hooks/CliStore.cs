using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;

namespace PerazziSync.Cli.Hooks;

/// <summary>
/// The store's API as the worker reaches it: the same client, retries and request budget shared
/// with every worker (kept in the database), from the same settings.
/// </summary>
sealed class CliStore(IHost host) : IDisposable
{
    public BigCommerceClient Client => host.Services.GetRequiredService<BigCommerceClient>();

    public NpgsqlDataSource Database => host.Services.GetRequiredService<NpgsqlDataSource>();

    public BigCommerceOptions Options => host.Services.GetRequiredService<IOptions<BigCommerceOptions>>().Value;

    public string StoreHash => Options.StoreHash!;

    /// <summary>The store's client, or null after telling the operator which setting is missing or wrong.</summary>
    public static CliStore? Open(IConfiguration configuration, TextWriter error)
    {
        if (configuration.RequirePostgres(error) is not { } connectionString)
        {
            return null;
        }
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        // Not the retry strategy's lines, each with its exception's stack: the verb says once
        // what the store finally answered, or why it could not be reached.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Polly", LogLevel.None);
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.AddBigCommerceClient();
        var host = builder.Build();
        try
        {
            var options = host.Services.GetRequiredService<IOptions<BigCommerceOptions>>().Value;
            if (options.WaitsForStore)
            {
                // The hosts' wording would have the operator restart something; the Cli reads the
                // settings afresh each run.
                error.WriteLine("No store yet: set BigCommerce__StoreHash and BigCommerce__AccessToken (a store-level API account) and run this again.");
                host.Dispose();
                return null;
            }
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
            {
                error.WriteLine(failure);
            }
            host.Dispose();
            return null;
        }
        return new CliStore(host);
    }

    public void Dispose() => host.Dispose();
}
