using PerazziSync.Receiver.Webhooks;
using PerazziSync.ServiceDefaults;

// appsettings.json is read from beside the program, wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults();
builder.AddMessageBus();
builder.AddWebhookReceiver();

return HostRun.RefusingBadSettings(() =>
{
    var app = builder.Build();
    app.MapOperationalEndpoints();
    app.MapWebhooks();
    return app;
});
