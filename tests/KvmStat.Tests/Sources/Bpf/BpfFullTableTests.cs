using System.Text.Json;
using KvmStat.Exporter;
using KvmStat.Guests;
using KvmStat.Output;
using KvmStat.Sources.Bpf;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;
using KvmStat.Tui;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// Events the engine cannot give to a process (its table of processes is full) are counted, and
/// every output says so: JSON's "unattributed", the exporter's kvm_stat_unattributed_events_total,
/// the screen's per-guest view, and a warning. With the guests and the outside they make the host.
/// </summary>
[Collection(BpfCollection.Name)]
public class BpfFullTableTests
{
    private static readonly byte[] s_pio = SyntheticEngine.Arguments(1, 0x3f8, 1, 1);

    /// <summary>
    /// A VM that found no slot stays left out while it has none, though the table has room again
    /// (a process that runs no VM gave its slot back): never listed as idle in between; with its
    /// next event it has a slot and is a guest again, counted from there.
    /// </summary>
    [Fact]
    public void AVmLeftOutStaysLeftOutUntilItHasASlot()
    {
        using var engine = new SyntheticEngine(capacity: 2);
        using EventProcess first = EventProcess.Start(), second = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(first.Pid, "first");
        engine.MakeVm(second.Pid, "second");
        string? NameOf(int pid) => pid == first.Pid ? "first" : pid == second.Pid ? "second" : null;
        using Sampler sampler = SyntheticScreenBackend.Open(engine, NameOf, perVm: true);
        sampler.Sample();
        BpfProgram pio = engine.Program("kvm_pio");
        first.Run(pio, s_pio);
        other.Run(pio, s_pio);
        second.Run(pio, s_pio, count: 3);
        (string Guests, int LeftOut) Sample()
        {
            sampler.Sample();
            IGuestValues guests = sampler.Snapshot.Guests!;
            return (string.Join(",", guests.Guests.Select(g => g.Name).Order(StringComparer.Ordinal)), guests.VmsLeftOut);
        }
        Assert.Equal(("first", 1), Sample());
        // The process that runs no VM gave its slot back: the table has room, and nothing new went unattributed.
        Assert.Equal(("first", 1), Sample());
        Assert.True(engine.Counters.SlotsInUse < engine.Counters.Capacity);
        Assert.Equal(("first", 1), Sample());
        second.Run(pio, s_pio);
        Assert.Equal(("first,second", 0), Sample());
    }

    [Fact]
    public void EventsNoSlotIsLeftForAreCountedAndEveryOutputSaysSo()
    {
        using var engine = new SyntheticEngine(capacity: 1);
        using EventProcess first = EventProcess.Start(), second = EventProcess.Start();
        engine.MakeVm(first.Pid, "first");
        engine.MakeVm(second.Pid, "second");
        string? NameOf(int pid) => pid == first.Pid ? "first" : pid == second.Pid ? "second" : null;
        Sampler sampler = SyntheticScreenBackend.Open(engine, NameOf, perVm: true);
        sampler.Sample();
        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, first.Run(pio, s_pio, count: 4));
        Assert.Equal(1, second.Run(pio, s_pio, count: 6));
        sampler.Sample();

        // JSON: the guests, the outside and the unattributed make the host.
        var text = new StringWriter();
        using (OutputSink sink = OutputSink.Stdout(text))
            new JsonRenderer(sink, skipZeroRecords: false).Render(sampler.Snapshot);
        using JsonDocument json = JsonDocument.Parse(text.ToString());
        JsonElement root = json.RootElement;
        // A counter that never counted is left out of a guest's fields (and the rows beside them): 0.
        long Total(JsonElement fields) => fields.TryGetProperty("kvm_pio", out JsonElement pio) ? pio.GetProperty("total").GetInt64() : 0;
        Assert.Equal(10, Total(root.GetProperty("fields")));
        Assert.Equal(6, Total(root.GetProperty("unattributed")));
        // The VM no slot was left for is never shown as an idle guest: it is left out, and said so.
        JsonElement guest = Assert.Single(root.GetProperty("guests").EnumerateArray());
        Assert.Equal(("first", 4L), (guest.GetProperty("name").GetString(), Total(guest.GetProperty("fields"))));
        Assert.Equal(1, root.GetProperty("vms_left_out").GetInt32());
        Assert.Equal("second", Assert.Single(root.GetProperty("left_out").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(0, Total(root.GetProperty("outside_vms")) + Total(root.GetProperty("exited_vms")));

        // The exporter.
        List<MetricFamily> families = new MetricsFormatter(FieldFilter.Default, _ => { }).Format(sampler.Snapshot);
        string metrics = new MetricsWriter(openMetrics: false).Write(families);
        Assert.Contains("kvm_stat_unattributed_events_total{event=\"kvm_pio\"} 6\n", metrics);
        Assert.Contains("kvm_events_total{event=\"kvm_pio\"} 10\n", metrics);
        Assert.Contains("kvm_stat_vms_left_out 1\n", metrics);
        // Named only as left out: no guest series, not even its info.
        Assert.Single(metrics.Split('\n'), l => l.Contains("guest=\"second\"", StringComparison.Ordinal) && l.StartsWith("kvm_guest_left_out{", StringComparison.Ordinal));
        Assert.Single(metrics.Split('\n'), l => l.Contains("guest=\"second\"", StringComparison.Ordinal));

        // The screen's per-guest view has a row for them.
        var app = new TuiApp(new SyntheticScreenBackend(engine, NameOf), FieldFilter.Default, 0, null, 3.0, TimeProvider.System);
        app.Start();
        app.OnKey(Key.Of('b'));
        Assert.Equal(1, first.Run(pio, s_pio, count: 1));
        Assert.Equal(1, second.Run(pio, s_pio, count: 2));
        app.Refresh();
        var grid = new ScreenGrid(24, 80);
        app.Draw(grid);
        Assert.True(grid.Lines().Any(line => System.Text.RegularExpressions.Regex.IsMatch(line, @"^ \(unattributed\) +8 ")), string.Join("\n", grid.Lines()));
        // The last line names the VM left out, with the BPF engine's cause (not perf's open files).
        Assert.Equal("1 running VMs left out: the BPF table is full (their events are unattributed)", grid.Lines().Last().TrimEnd());

        Assert.Contains(engine.Warnings, w => w.Contains("could not be attributed to a process") && w.Contains("room for 1 processes and is full; they are counted as unattributed, and VMs without a slot as left out")
            && w.EndsWith("Fewer fields (-f), or no --latency or --vcpus, leave the table room for more processes; a process that runs no VM gives its slot back at the capture that finds it (each -s interval, each second when serving) and takes none again.", StringComparison.Ordinal));
    }
}
