namespace PerazziSync.BigCommerce.Hooks;

/// <summary>Where BigCommerce delivers the product's callbacks: the receiver's BigCommerce route as the internet reaches it.</summary>
public static class HookDestination
{
    /// <summary>The receiver's route, appended when a destination names only the host.</summary>
    public const string ReceiverPath = "/webhooks/bigcommerce";

    /// <summary>
    /// The destination as hooks must carry it, or why BigCommerce would refuse it: it delivers only
    /// over HTTPS, and only to port 443. A destination without a path gets the receiver's route.
    /// </summary>
    public static (Uri? Destination, string? Problem) Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) || url.Host.Length == 0)
        {
            return (null, $"'{text}' is not an absolute URL such as https://sync.example.com{ReceiverPath}");
        }
        if (url.Scheme != Uri.UriSchemeHttps)
        {
            return (null, $"BigCommerce delivers only over HTTPS; '{text}' is {url.Scheme}");
        }
        if (url.Port != 443)
        {
            return (null, $"BigCommerce delivers only to port 443; '{text}' names port {url.Port}");
        }
        if (url.UserInfo.Length > 0)
        {
            return (null, "a destination carries no user name or password; the receiver authenticates callbacks by their signature or the shared header");
        }
        var builder = new UriBuilder(url) { Port = -1, Fragment = "" };
        if (builder.Path is "" or "/")
        {
            builder.Path = ReceiverPath;
        }
        return (builder.Uri, null);
    }

    /// <summary>Whether two destinations are the same address (host and scheme in any case, a trailing slash aside).</summary>
    public static bool Same(string destination, Uri expected) =>
        Uri.TryCreate(destination, UriKind.Absolute, out var url)
        && string.Equals(url.Scheme, expected.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.Host, expected.Host, StringComparison.OrdinalIgnoreCase)
        && url.Port == expected.Port
        && Path(url) == Path(expected)
        && url.Query == expected.Query;

    /// <summary>
    /// Whether <paramref name="destination"/> is the product's route at another address (the
    /// receiver moved): a hook the product made earlier, not another integration's.
    /// </summary>
    public static bool SameRoute(string destination, Uri expected) =>
        Uri.TryCreate(destination, UriKind.Absolute, out var url) && Path(url) == Path(expected);

    /// <summary>The host of a destination, for matching it with a blocked domain.</summary>
    public static string? Host(string destination) =>
        Uri.TryCreate(destination, UriKind.Absolute, out var url) && url.Host.Length > 0 ? url.Host : null;

    static string Path(Uri url) => url.AbsolutePath.TrimEnd('/');
}
