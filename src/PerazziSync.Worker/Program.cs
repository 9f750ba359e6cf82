using PerazziSync.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddPortalDatabase();
builder.AddMessageBus();

var app = builder.Build();
app.MapHealthEndpoints();
app.Run();
