using PerazziSync.ServiceDefaults;
using PerazziSync.Worker.BigCommerce;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddPortalDatabase();
builder.AddMessageBus(bus => bus.AddBigCommerceConsumers());
builder.AddBigCommerceSync();

var app = builder.Build();
app.MapHealthEndpoints();
app.Run();
