using System.Globalization;
using Spectre.Console;

namespace PerazziSync.Cli;

static class CliConsole
{
    /// <summary>
    /// A Spectre console on the command's output, which escapes what the terminal would obey in
    /// the text it renders (<see cref="TerminalText"/>). Written to a file or a pipe it is wide, so
    /// tables keep each row on one line for grep and logs.
    /// </summary>
    public static IAnsiConsole Create(TextWriter output)
    {
        // Spectre writes its own escape sequences (colours, the progress bar) to the terminal itself.
        var terminal = output is TerminalText.Writer escaping ? escaping.Inner : output;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(terminal) });
        TerminalText.Attach(console);
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = 240;
        }
        return console;
    }

    /// <summary>A time as every table and line of the Cli shows one: UTC, to the second.</summary>
    public static string Time(DateTime at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
