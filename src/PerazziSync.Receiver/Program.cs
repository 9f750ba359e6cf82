using PerazziSync.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddMessageBus();

var app = builder.Build();
app.MapHealthEndpoints();
app.Run();
