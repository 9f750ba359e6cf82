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
    // A 404 or 405 (a route that is not one, a method other than POST) says so in a problem body too.
    app.UseStatusCodePages();
    app.MapOperationalEndpoints();
    app.MapWebhooks();
    return app;
});
