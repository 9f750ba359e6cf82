using System.CommandLine;
using PerazziSync.Cli;
using PerazziSync.Cli.Assets;
using PerazziSync.Cli.Demo;
using PerazziSync.Cli.Dlq;
using PerazziSync.Cli.Hooks;
using PerazziSync.ServiceDefaults;

var root = new RootCommand("PerazziSync operations: database migrations, POS batch imports, parked events, claimed guns, dead letters, the store's webhook subscriptions, a demo.")
{
    MigrateCommand.Create(),
    PosImportCommand.Create(),
    ParkedCommand.Create(),
    AssetsCommand.Create(),
    DlqCommand.Create(),
    HooksCommand.Create(),
    DemoCommand.Create(),
};
// Ctrl+C or SIGTERM cancels the running verb's token and gives it this long to record what it
// has done (the audit rows of re-sends the broker confirmed) before the process ends anyway;
// without it the runtime ends the process at once.
// Text from users (names, serials, records, messages) is printed with its control characters
// escaped, never obeyed by the operator's terminal.
var invocation = new InvocationConfiguration
{
    ProcessTerminationTimeout = TimeSpan.FromSeconds(10),
    EnableDefaultExceptionHandler = false,
    Output = new TerminalText.Writer(Console.Out),
    Error = new TerminalText.Writer(Console.Error),
};
try
{
    var parsed = root.Parse(args);
    var exitCode = await parsed.InvokeAsync(invocation);
    // A command line the Cli cannot read (an unknown verb, a required option or argument
    // missing, a value it cannot parse or out of range) did no work: 2, as missing configuration,
    // so that a monitor reading 1 as "not well" (hooks status) is not told so by a typo.
    return parsed.Errors.Count > 0 ? 2 : exitCode;
}
catch (OperationCanceledException)
{
    return 1;
}
catch (Exception e) when (HostRun.UnreadableSetting(e) is { } unreadable)
{
    // A setting whose value is not of its type: configuration, as a missing setting.
    invocation.Error.WriteLine(unreadable.Message);
    return 2;
}
catch (Exception e) when (CliErrors.Describe(e) is { } reason)
{
    // The database or the store unreachable, not answering, refusing the login or the request:
    // an operator needs its reason, not a stack trace.
    invocation.Error.WriteLine(reason);
    return 1;
}
catch (Exception e)
{
    invocation.Error.WriteLine($"Unhandled exception: {e}");
    return 1;
}
