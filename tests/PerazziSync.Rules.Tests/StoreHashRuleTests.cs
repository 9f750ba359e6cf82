using PerazziSync.Contracts;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>What <c>BigCommerce__StoreHash</c> may hold, and the one form every host uses.</summary>
public sealed class StoreHashRuleTests
{
    [Theory]
    [InlineData("abc123", "abc123")]
    [InlineData("  ABC123 ", "abc123")]
    [InlineData("AbC123\r\n", "abc123")]
    [InlineData("\tteststore", "teststore")]
    public void A_hash_is_taken_trimmed_and_in_lower_case(string configured, string taken)
    {
        var canonical = BigCommerceStoreHash.Canonical(configured)!;

        Assert.Equal(taken, canonical);
        Assert.True(BigCommerceStoreHash.IsValid(canonical));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc/123")]
    [InlineData("abc?x=1")]
    [InlineData("abc%2f123")]
    [InlineData("abc#1")]
    [InlineData("abc 123")]
    [InlineData("store-abc123")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    // The Kelvin sign lowers to an ASCII k; it is no more a hash BigCommerce issues than any letter outside ASCII.
    [InlineData("\u212Aey123")]
    [InlineData("\u0130abc")]
    [InlineData("ab\u0441123")]
    public void A_hash_with_anything_but_letters_and_digits_or_longer_than_32_is_refused(string configured)
    {
        Assert.False(BigCommerceStoreHash.IsValid(BigCommerceStoreHash.Canonical(configured)!));
    }

    [Fact]
    public void A_hash_of_32_letters_and_digits_is_taken()
    {
        Assert.True(BigCommerceStoreHash.IsValid(BigCommerceStoreHash.Canonical("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")!));
    }
}
