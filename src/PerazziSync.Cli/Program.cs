using System.CommandLine;
using PerazziSync.Cli;

var root = new RootCommand("PerazziSync operations: database migrations and POS batch imports.")
{
    MigrateCommand.Create(),
    PosImportCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
