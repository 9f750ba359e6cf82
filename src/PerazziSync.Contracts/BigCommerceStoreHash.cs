namespace PerazziSync.Contracts;

/// <summary>
/// <c>BigCommerce:StoreHash</c> as every host reads it. BigCommerce names a store by a short hash
/// of lower-case letters and digits: the <c>&lt;hash&gt;</c> of the API's
/// <c>/stores/&lt;hash&gt;/</c> paths and of a callback's <c>producer</c>. The setting is taken
/// without surrounding whitespace and in lower case, so that a hash typed in capitals, or pasted
/// with a trailing space or line end, still matches the callbacks and the API paths, and the
/// same store is recorded under the same key whoever configured it.
/// </summary>
public static class BigCommerceStoreHash
{
    /// <summary>Far more than BigCommerce's ten characters, short enough that a pasted URL or token is refused.</summary>
    public const int MaxLength = 32;

    /// <summary>Why a set hash is refused, as the hosts say it at start.</summary>
    public const string Refusal =
        "BigCommerce:StoreHash (environment variable BigCommerce__StoreHash) must be the store's hash, the <hash> of " +
        "https://api.bigcommerce.com/stores/<hash>/: letters and digits only, at most 32 of them";

    /// <summary>
    /// The hash as configured, trimmed and in lower case. Only ASCII is lowered: a letter outside
    /// it that lowers to one inside (the Kelvin sign to k) must stay refused, not become another hash.
    /// </summary>
    public static string? Canonical(string? configured)
    {
        var trimmed = configured?.Trim();
        return trimmed is not null && trimmed.All(char.IsAscii) ? trimmed.ToLowerInvariant() : trimmed;
    }

    /// <summary>
    /// Whether <paramref name="canonical"/> can be a store's hash. Nothing else may reach a path:
    /// a <c>/</c>, <c>?</c>, <c>#</c> or <c>%</c> in it would change which resource the worker asks for.
    /// </summary>
    public static bool IsValid(string canonical) =>
        canonical.Length is > 0 and <= MaxLength && canonical.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c));
}
