using System.Text;
using System.Text.Json;
using PerazziSync.Contracts;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Text, numbers and JSON the portal's database can store.</summary>
public sealed class StorableTests
{
    [Fact]
    public void Nul_and_lone_surrogates_are_what_text_cannot_hold()
    {
        Assert.Null(StorableText.Problem("plain"));
        Assert.Null(StorableText.Problem("\ud83d\ude00 a pair"));
        Assert.Equal("a NUL character", StorableText.Problem("a\0b"));
        Assert.Equal("a lone UTF-16 surrogate", StorableText.Problem("\ud800x"));
        Assert.Equal("a lone UTF-16 surrogate", StorableText.Problem("x\udc00"));
    }

    [Fact]
    public void Unstorable_characters_become_replacement_characters_and_a_cut_never_splits_a_pair()
    {
        Assert.Equal("a\uFFFDb\uFFFD", StorableText.Of("a\0b\ud800", 100));
        Assert.Equal("ab…", StorableText.Of("ab\ud83d\ude00cd", 3));
        Assert.Equal("ab…", StorableText.Of("ab\ud83d\ude00cd", 4));
        Assert.Equal("ab\ud83d\ude00…", StorableText.Of("ab\ud83d\ude00cd", 5));
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("-12.5e3", true)]
    [InlineData("1e131071", true)]
    [InlineData("1e131072", false)]
    [InlineData("1e999999", false)]
    [InlineData("0.5e-16383", false)]
    [InlineData("0e999999999", true)]
    public void A_number_fits_jsonb_within_numerics_bounds(string number, bool fits) =>
        Assert.Equal(fits, JsonbNumber.Fits(Encoding.ASCII.GetBytes(number)));

    [Theory]
    [InlineData("""{"a":[1,"b",{"c":null,"d":true}],"e":"\ud83d\ude00"}""", null)]
    [InlineData("""{"a":"x\u0000y"}""", "a NUL character")]
    [InlineData("""{"x\u0000":1}""", "a NUL character")]
    [InlineData("""["\ud800"]""", "a lone UTF-16 surrogate")]
    [InlineData("""{"\udc00":1}""", "a lone UTF-16 surrogate")]
    [InlineData("""{"n":[1e999999]}""", "the number 1e999999, too large or too precise for a numeric")]
    public void Json_fits_jsonb_unless_it_holds_a_nul_a_lone_surrogate_or_a_number_beyond_numeric(string json, string? problem)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Equal(problem, JsonbValue.Problem(document.RootElement));
    }
}
