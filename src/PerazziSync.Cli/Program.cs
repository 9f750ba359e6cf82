using System.CommandLine;
using PerazziSync.Cli;
using PerazziSync.Cli.Assets;
using PerazziSync.Cli.Demo;
using PerazziSync.Cli.Dlq;
using PerazziSync.Cli.Hooks;

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
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(10) });
