using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace PerazziSync.Pos.Records;

public static class PosServiceCollectionExtensions
{
    /// <summary>
    /// The <c>Pos</c> section, validated at start-up (a host adds what else it needs), and the
    /// record parser in its time zone.
    /// </summary>
    public static OptionsBuilder<PosOptions> AddPosOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new PosRecordParser(sp.GetRequiredService<IOptions<PosOptions>>().Value.Zone()));
        return builder.Services.AddOptions<PosOptions>()
            .BindConfiguration(PosOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => PosTime.IsKnownZone(o.TimeZone), "Pos:TimeZone is not a known IANA time zone")
            .ValidateOnStart();
    }
}
