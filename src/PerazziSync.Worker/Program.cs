using PerazziSync.Data;
using PerazziSync.ServiceDefaults;
using PerazziSync.Worker.BigCommerce;
using PerazziSync.Worker.Pos;
using PerazziSync.Worker.Sync;
using Quartz;

// appsettings.json is read from beside the program, wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults();
builder.AddPortalDatabase();
builder.AddMessageBus(bus =>
{
    bus.AddBigCommerceConsumers(builder.Configuration);
    bus.AddPosConsumers();
});
builder.AddBigCommerceSync();
builder.AddPosSync();
builder.AddSyncEndpoints();
builder.Services.AddQuartzHostedService(quartz => quartz.WaitForJobsToComplete = true);

return HostRun.RefusingBadSettings(() =>
{
    var app = builder.Build();
    app.MapOperationalEndpoints();
    return app;
});
