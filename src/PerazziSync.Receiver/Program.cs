using PerazziSync.Receiver.Webhooks;
using PerazziSync.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddMessageBus();
builder.AddWebhookReceiver();

var app = builder.Build();
app.MapHealthEndpoints();
app.MapWebhooks();
app.Run();
