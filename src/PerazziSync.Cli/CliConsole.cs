using Spectre.Console;

namespace PerazziSync.Cli;

static class CliConsole
{
    /// <summary>
    /// A Spectre console on the command's output. Written to a file or a pipe it is wide, so
    /// tables keep each row on one line for grep and logs.
    /// </summary>
    public static IAnsiConsole Create(TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = 240;
        }
        return console;
    }
}
