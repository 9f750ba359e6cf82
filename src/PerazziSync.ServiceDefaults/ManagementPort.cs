using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace PerazziSync.ServiceDefaults;

/// <summary>
/// <c>Management:Urls</c>: the operational endpoints on an address of their own (one a load
/// balancer or the internet does not reach), the rest of the host on <c>ASPNETCORE_URLS</c>.
/// </summary>
static class ManagementPort
{
    const string Setting = ManagementOptions.Section + ":" + nameof(ManagementOptions.Urls);

    public static void AddManagementPort(this IHostApplicationBuilder builder)
    {
        var publicUrls = UrlList(builder.Configuration[WebHostDefaults.ServerUrlsKey]);
        builder.Services.AddOptions<ManagementOptions>()
            .BindConfiguration(ManagementOptions.Section)
            .Validate(o => UrlList(o.Urls).All(url => Port(url) > 0),
                $"{Setting} must be URLs with a port each, ';'-separated, e.g. http://127.0.0.1:9090 (environment variable Management__Urls)")
            .Validate(o => UrlList(o.Urls).Length == 0 || publicUrls.Length > 0,
                $"{Setting} is set, so ASPNETCORE_URLS must name where the rest of the host is served")
            .Validate(o => !UrlList(o.Urls).Select(Port).Intersect(publicUrls.Select(Port)).Any(port => port > 0),
                $"{Setting} and ASPNETCORE_URLS must use different ports: the port decides what a request may reach")
            .ValidateOnStart();

        var management = builder.Configuration[Setting];
        if (!string.IsNullOrWhiteSpace(management))
        {
            // Kestrel listens either on its own endpoint list or on these URLs, never both: the
            // management addresses join the public ones.
            builder.Configuration[WebHostDefaults.ServerUrlsKey] = string.Join(';', publicUrls.Append(management));
        }
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ManagementPortPolicy>());
    }

    /// <summary>Marks the endpoints that <c>Management:Urls</c> moves to the management port.</summary>
    public static TBuilder OnManagementPort<TBuilder>(this TBuilder endpoint) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(ManagementEndpoint.Instance);

    static string[] UrlList(string? urls) =>
        (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The URL's port; 0 when it has none that a connection could arrive on (unparsable, dynamic, a Unix socket).</summary>
    static int Port(string url)
    {
        try
        {
            return BindingAddress.Parse(url).Port;
        }
        catch (FormatException)
        {
            return 0;
        }
    }

    sealed class ManagementEndpoint
    {
        public static readonly ManagementEndpoint Instance = new();
    }

    /// <summary>
    /// With <c>Management:Urls</c> set, an endpoint matches only on its own side: the
    /// operational ones on the management ports, every other on the rest. Decided by the local
    /// port the connection came in on, never by the Host header, which the client writes.
    /// </summary>
    sealed class ManagementPortPolicy(IOptions<ManagementOptions> options) : MatcherPolicy, IEndpointSelectorPolicy
    {
        readonly HashSet<int> _ports = UrlList(options.Value.Urls).Select(Port).ToHashSet();

        public override int Order => 0;

        public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => _ports.Count > 0;

        public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
        {
            var onManagementPort = _ports.Contains(httpContext.Connection.LocalPort);
            for (var i = 0; i < candidates.Count; i++)
            {
                var isManagement = candidates[i].Endpoint.Metadata.GetMetadata<ManagementEndpoint>() is not null;
                if (isManagement != onManagementPort)
                {
                    candidates.SetValidity(i, false);
                }
            }
            return Task.CompletedTask;
        }
    }
}
