using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace PerazziSync.ServiceDefaults;

public static partial class HostRun
{
    /// <summary>
    /// Builds the host with <paramref name="build"/> and runs it until it stops. Settings refused
    /// while it is built or started end it with one line that names them and exit code 2, as a
    /// wrong command line does, instead of an unhandled exception's stack trace and an abort.
    /// </summary>
    public static int RefusingBadSettings(Func<IHost> build)
    {
        try
        {
            build().Run();
            return 0;
        }
        catch (Exception e) when (Refusal(e) is { } refused)
        {
            Console.Error.WriteLine($"{AppDomain.CurrentDomain.FriendlyName}: cannot start: {string.Join(" ", refused.Failures.Select(f => Named(refused.OptionsType, f)))}");
            return 2;
        }
        catch (Exception e) when (UnreadableSetting(e) is { } unreadable)
        {
            Console.Error.WriteLine($"{AppDomain.CurrentDomain.FriendlyName}: cannot start: {unreadable.Message}");
            return 2;
        }
    }

    /// <summary>
    /// A value the configuration binder could not convert to its setting's type ("abc" for a
    /// number, "soon" for a time span), or null. Its message names the setting and the type.
    /// </summary>
    public static InvalidOperationException? UnreadableSetting(Exception? e) =>
        Find<InvalidOperationException>(e, binding => binding.TargetSite?.DeclaringType == typeof(ConfigurationBinder));

    /// <summary>
    /// A value out of its attribute's range is reported by the options class and its property
    /// ("… for 'PosOptions' members: 'CallbackGroupSize' with the error: '…'"); the line names it
    /// as the setting a deployer sets, <c>Pos__CallbackGroupSize</c>, with the attribute's error.
    /// Any other failure already names its setting and is kept as it is.
    /// </summary>
    static string Named(Type options, string failure) =>
        options.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is string section
        && DataAnnotationFailure().Match(failure) is { Success: true } failed
            ? $"{section}__{failed.Groups["member"].Value}: {failed.Groups["error"].Value}"
            : failure;

    [GeneratedRegex(@"^DataAnnotation validation failed for '[^']*' members: '(?<member>[^',]+)' with the error: '(?<error>.*)'\.$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();

    static OptionsValidationException? Refusal(Exception? e) => Find<OptionsValidationException>(e, _ => true);

    /// <summary>The first <typeparamref name="T"/> that <paramref name="matches"/> in <paramref name="e"/> or the exceptions it wraps, inner or aggregated.</summary>
    static T? Find<T>(Exception? e, Func<T, bool> matches) where T : Exception => e switch
    {
        null => null,
        T found when matches(found) => found,
        AggregateException many => many.InnerExceptions.Select(inner => Find(inner, matches)).FirstOrDefault(r => r is not null),
        _ => Find(e.InnerException, matches),
    };
}
