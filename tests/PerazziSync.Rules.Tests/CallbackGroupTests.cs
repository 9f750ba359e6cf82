using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>How the worker's POS callbacks are grouped into statements, and how a group's failure becomes each message's.</summary>
public sealed class CallbackGroupTests
{
    static readonly DateTimeOffset Noon = new(2026, 3, 20, 12, 0, 0, TimeSpan.Zero);

    static PosServiceRecord Record(string id, DateTimeOffset updatedAt) =>
        new(id, "MX8-1", "completed", null, null, [], updatedAt, "{}");

    [Fact]
    public void Two_versions_of_one_record_in_a_group_go_to_two_statements_the_newest_first()
    {
        var older = Record("WO-1", Noon);
        var other = Record("WO-2", Noon);
        var newer = Record("WO-1", Noon.AddMinutes(5));

        var statements = CallbackGroups.Statements([older, other, newer], r => r);

        Assert.Equal([[newer, other], [older]], statements);
    }

    [Fact]
    public void A_group_of_distinct_records_is_one_statement_in_arrival_order()
    {
        var records = Enumerable.Range(0, 5).Select(i => Record($"WO-{i}", Noon)).ToList();

        Assert.Equal([records], CallbackGroups.Statements(records, r => r));
    }

    /// <summary>Settles <paramref name="items"/> with a writer that fails as <paramref name="fault"/> says; what each item got, and the parts written.</summary>
    static async Task<(Dictionary<int, string> Results, List<int[]> Writes)> SettleAsync(int[] items, Func<IReadOnlyList<int>, Exception?> fault)
    {
        var results = new Dictionary<int, string>();
        var writes = new List<int[]>();
        await CallbackGroups.SettleAsync<int, string>(
            items,
            part =>
            {
                writes.Add([.. part]);
                return fault(part) is { } e ? Task.FromException<IReadOnlyList<string>>(e) : Task.FromResult<IReadOnlyList<string>>([.. part.Select(i => $"written {i}")]);
            },
            e => e is NpgsqlException { IsTransient: true },
            (item, result) => results.Add(item, result),
            (item, e) => results.Add(item, e.Message));
        return (results, writes);
    }

    [Fact]
    public async Task A_record_the_database_refuses_fails_alone_and_its_neighbours_are_written()
    {
        var items = Enumerable.Range(0, 10).ToArray();

        var (results, writes) = await SettleAsync(items, part => part.Contains(7) ? new InvalidOperationException("refused 7") : null);

        Assert.Equal(items.ToDictionary(i => i, i => i == 7 ? "refused 7" : $"written {i}"), results);
        // Every item written exactly once in the end, the refused one alone.
        Assert.Equal([.. items.Except([7])], writes.Where(w => !w.Contains(7)).SelectMany(w => w).Order());
        Assert.Contains(writes, w => w is [7]);
    }

    [Fact]
    public async Task A_transient_fault_fails_every_message_of_the_group_with_it_and_splits_nothing()
    {
        var items = Enumerable.Range(0, 10).ToArray();
        var outage = new NpgsqlException("connection lost", new IOException("reset"));

        var (results, writes) = await SettleAsync(items, _ => outage);

        Assert.Equal(items.ToDictionary(i => i, _ => "connection lost"), results);
        Assert.Single(writes);
    }

    static PosOptions Bind(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>(s.Key, s.Value)));
        builder.AddPosOptions();
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<PosOptions>>().Value;
    }

    [Fact]
    public void The_group_options_default_to_groups_of_200_gathered_for_5_ms_at_most_waiting_a_minute_at_most_for_each_answer()
    {
        var options = Bind();

        Assert.Equal((200, TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(1)), (options.CallbackGroupSize, options.CallbackGroupWait, options.CallbackWriteTimeout));
    }

    [Theory]
    [InlineData("Pos:CallbackGroupSize", "0", "CallbackGroupSize")]
    [InlineData("Pos:CallbackGroupSize", "513", "CallbackGroupSize")]
    [InlineData("Pos:CallbackGroupWait", "00:00:06", "CallbackGroupWait")]
    [InlineData("Pos:CallbackGroupWait", "-00:00:01", "CallbackGroupWait")]
    [InlineData("Pos:CallbackWriteTimeout", "00:00:00", "CallbackWriteTimeout")]
    [InlineData("Pos:CallbackWriteTimeout", "01:00:01", "CallbackWriteTimeout")]
    public void A_group_option_out_of_range_is_refused_naming_it(string key, string value, string named)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Bind((key, value)));

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_write_of_an_import_or_the_re_match_waits_ten_minutes_at_most_for_each_answer()
    {
        Assert.Equal(TimeSpan.FromMinutes(10), Bind().BatchWriteTimeout);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("1.00:00:01")]
    public void A_batch_write_timeout_out_of_range_is_refused_naming_it(string value)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Bind(("Pos:BatchWriteTimeout", value)));

        Assert.Contains("BatchWriteTimeout", refused.Message, StringComparison.Ordinal);
    }
}
