using PerazziSync.Cli;
using Spectre.Console;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>What the Cli prints of untrusted text: every character a terminal would obey shown as its code.</summary>
public sealed class TerminalTextTests
{
    [Theory]
    [InlineData("WO-2026-0007 Jane Doe", "WO-2026-0007 Jane Doe")]
    [InlineData("line one\nline two\tcolumn", "line one\nline two\tcolumn")]
    [InlineData("\u001b[2K\u001b[1AVERIFIED", @"\u001B[2K\u001B[1AVERIFIED")]
    [InlineData("over\rwrite", @"over\u000Dwrite")]
    [InlineData("bell\u0007 del\u007f c1\u009b", @"bell\u0007 del\u007F c1\u009B")]
    [InlineData("abc\u202edcba\u2066x\u2069\u200f", @"abc\u202Edcba\u2066x\u2069\u200F")]
    [InlineData("Perazzi — 60/40 → 70/30 ✓", "Perazzi — 60/40 → 70/30 ✓")]
    public void Control_and_bidirectional_characters_are_shown_as_their_codes(string text, string shown) =>
        Assert.Equal(shown, TerminalText.Escape(text));

    [Fact]
    public void A_plain_line_and_a_rendered_table_reach_the_terminal_escaped()
    {
        var terminal = new StringWriter();
        var output = new TerminalText.Writer(terminal);
        output.WriteLine("claim of \u001b[32mVERIFIED");
        output.Write('\u001b');
        var console = CliConsole.Create(output);
        console.Write(new Table().AddColumn("name").AddRow(Markup.Escape("Evil\u001b[2K")));

        var printed = terminal.ToString();
        Assert.DoesNotContain('\u001b', printed);
        Assert.Contains(@"claim of \u001B[32mVERIFIED", printed, StringComparison.Ordinal);
        Assert.Contains(@"Evil\u001B[2K", printed, StringComparison.Ordinal);
    }
}
