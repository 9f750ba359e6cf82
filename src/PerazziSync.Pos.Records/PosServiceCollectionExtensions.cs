using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace PerazziSync.Pos.Records;

public static class PosServiceCollectionExtensions
{
    /// <summary>
    /// The <c>Pos</c> section, validated at start-up (a host adds what else it needs), and the
    /// record parser in its time zone, on the host's clock.
    /// </summary>
    public static OptionsBuilder<PosOptions> AddPosOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PosOptions>>().Value;
            return new PosRecordParser(options.Zone(), sp.GetRequiredService<TimeProvider>(), options.UpdatedAtMaxAhead);
        });
        return builder.Services.AddOptions<PosOptions>()
            .BindConfiguration(PosOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => PosTime.IsKnownZone(o.TimeZone), "Pos:TimeZone is not a known IANA time zone")
            .ValidateOnStart();
    }
}
