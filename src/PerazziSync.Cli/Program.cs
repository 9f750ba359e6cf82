using System.CommandLine;
using PerazziSync.Cli;

var root = new RootCommand("PerazziSync operations: database migrations, POS batch imports, parked events, dead letters.")
{
    MigrateCommand.Create(),
    PosImportCommand.Create(),
    ParkedCommand.Create(),
    DlqCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
