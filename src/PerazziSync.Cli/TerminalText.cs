using System.Globalization;
using System.Text;
using PerazziSync.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace PerazziSync.Cli;

/// <summary>
/// What the Cli prints comes in part from people it does not trust: a portal user's name, a
/// serial they registered, a POS record, a dead-lettered message, a file dropped for import. A
/// control character in such text would be obeyed by the operator's terminal (an escape sequence
/// can erase lines, move the cursor, recolour a claim as verified) and a bidirectional override
/// would reorder what follows it. Every such character is printed as its code instead, e.g.
/// <c>\u001B</c>; line breaks and tabs stay.
/// </summary>
static class TerminalText
{
    /// <summary><paramref name="text"/> with every character a terminal would obey shown as <c>\uXXXX</c>.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(Obeyed))
        {
            return text;
        }
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (Obeyed(c))
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                escaped.Append(c);
            }
        }
        return escaped.ToString();
    }

    /// <summary>Control characters but the line feed and the tab, and Unicode's bidirectional formatting characters.</summary>
    static bool Obeyed(char c) => PrintableText.Misleads(c) && c is not ('\n' or '\t');

    /// <summary>A writer for the Cli's plain lines (standard output, standard error) that escapes what <paramref name="inner"/> would obey.</summary>
    public sealed class Writer(TextWriter inner) : TextWriter
    {
        /// <summary>The terminal itself, for Spectre.Console, which writes its own escape sequences; see <see cref="Attach"/>.</summary>
        public TextWriter Inner => inner;

        public override Encoding Encoding => inner.Encoding;

        public override IFormatProvider FormatProvider => inner.FormatProvider;

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string NewLine
        {
            get => inner.NewLine;
            set => inner.NewLine = value;
        }

        public override void Write(char value)
        {
            if (Obeyed(value))
            {
                inner.Write(Escape(value.ToString()));
            }
            else
            {
                inner.Write(value);
            }
        }

        public override void Write(string? value) => inner.Write(value is null ? null : Escape(value));

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        public override void WriteLine(string? value) => inner.WriteLine(value is null ? null : Escape(value));

        public override void Flush() => inner.Flush();

        public override Task FlushAsync() => inner.FlushAsync();
    }

    /// <summary>Makes <paramref name="console"/> escape the text of everything it renders (its own control codes pass).</summary>
    public static void Attach(IAnsiConsole console) => console.Pipeline.Attach(new EscapingHook());

    sealed class EscapingHook : IRenderHook
    {
        public IEnumerable<IRenderable> Process(RenderOptions options, IEnumerable<IRenderable> renderables) =>
            renderables.Select(r => (IRenderable)new Escaped(r));
    }

    sealed class Escaped(IRenderable inner) : IRenderable
    {
        public Measurement Measure(RenderOptions options, int maxWidth) => inner.Measure(options, maxWidth);

        public IEnumerable<Segment> Render(RenderOptions options, int maxWidth) =>
            inner.Render(options, maxWidth).Select(s => s.IsControlCode || s.IsLineBreak ? s : new Segment(Escape(s.Text), s.Style, s.Link));
    }
}
