using System.CommandLine;
using PerazziSync.Cli;

var root = new RootCommand("PerazziSync operations: database migrations, POS batch imports, parked events.")
{
    MigrateCommand.Create(),
    PosImportCommand.Create(),
    ParkedCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
