using PerazziSync.ServiceDefaults;
using PerazziSync.Worker.BigCommerce;
using PerazziSync.Worker.Pos;
using Quartz;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddPortalDatabase();
builder.AddMessageBus(bus =>
{
    bus.AddBigCommerceConsumers();
    bus.AddPosConsumers();
});
builder.AddBigCommerceSync();
builder.AddPosSync();
builder.Services.AddQuartzHostedService(quartz => quartz.WaitForJobsToComplete = true);

var app = builder.Build();
app.MapHealthEndpoints();
app.Run();
