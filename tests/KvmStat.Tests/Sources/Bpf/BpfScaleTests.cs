using System.Text.Json;
using System.Text.RegularExpressions;
using KvmStat.Exporter;
using KvmStat.Guests;
using KvmStat.Output;
using KvmStat.Sources.Bpf;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;
using KvmStat.Tui;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// Per-guest counts stay exact with 4,000 VM processes alive at once (half of them started before
/// counting began, half after), beside processes that are not VMs, in the table the tool sizes
/// itself on this machine: every guest exact in JSON and the exporter, and guests, the outside
/// and exited VMs make the host's total with nothing unattributed, in JSON, the exporter and the
/// screen. The events are synthetic (each process runs the tool's own program); the processes and
/// the table are real.
/// </summary>
[Collection(BpfCollection.Name)]
public class BpfScaleTests
{
    private const int Vms = 4000;
    private const int Others = 20;
    private static readonly byte[] s_pio = SyntheticEngine.Arguments(1, 0x3f8, 1, 1);

    /// <summary>The events child i of a batch raises at each kick (EventProcess.ForkChildren).</summary>
    private static long EventsOf(int index) => index % 10 + 1;

    [Fact]
    public void FourThousandVmsAreEachCountedExactlyAndMakeTheHostTotal()
    {
        using var engine = new SyntheticEngine();
        Assert.True(engine.Counters.Capacity >= Vms + Others, $"the table has room for {engine.Counters.Capacity} processes");
        using EventProcess before = EventProcess.Start(), after = EventProcess.Start();
        BpfProgram pio = engine.Program("kvm_pio");
        var names = new Dictionary<int, string>();
        var expected = new Dictionary<int, long>();
        long outside = 0;
        void Add(int[] pids, string prefix, int others)
        {
            for (int i = 0; i < pids.Length; i++)
            {
                if (i < others)
                {
                    engine.MakeOther(pids[i]);
                    outside += EventsOf(i);
                    continue;
                }
                names[pids[i]] = $"{prefix}{i}";
                engine.MakeVm(pids[i], names[pids[i]]);
                expected[pids[i]] = EventsOf(i);
            }
        }
        try
        {
            Add(before.ForkChildren(pio, s_pio, Vms / 2), "before", 0);
            string? NameOf(int pid) => names.GetValueOrDefault(pid);
            var app = new TuiApp(new SyntheticScreenBackend(engine, NameOf), FieldFilter.Default, 0, null, 3.0, TimeProvider.System);
            app.Start();
            app.OnKey(Key.Of('b'));
            Sampler sampler = Samplers.Of(TimeProvider.System, [engine.Engine.OpenHost(0)], engine.Engine.OpenPerVm(), nameOf: NameOf,
                capture: engine.Counters);
            sampler.Sample();
            var metrics = new MetricsFormatter(FieldFilter.Default, _ => { });
            _ = metrics.Format(sampler.Snapshot);
            Add(after.ForkChildren(pio, s_pio, Vms / 2 + Others), "after", Others);
            Assert.Equal(0, before.KickChildren());
            Assert.Equal(0, after.KickChildren());
            long host = expected.Values.Sum() + outside;
            sampler.Sample();

            // JSON: every guest exact; guests, the outside and exited VMs make the host.
            var text = new StringWriter();
            using (OutputSink sink = OutputSink.Stdout(text))
                new JsonRenderer(sink, skipZeroRecords: false).Render(sampler.Snapshot);
            using JsonDocument json = JsonDocument.Parse(text.ToString());
            JsonElement root = json.RootElement;
            long Total(JsonElement fields) => fields.TryGetProperty("kvm_pio", out JsonElement pioField) ? pioField.GetProperty("total").GetInt64() : 0;
            Assert.Equal(host, Total(root.GetProperty("fields")));
            var counted = root.GetProperty("guests").EnumerateArray()
                .ToDictionary(g => g.GetProperty("pid").GetInt32(), g => Total(g.GetProperty("fields")));
            Assert.Equal(Vms, counted.Count);
            Assert.Equal([], expected.Where(e => counted.GetValueOrDefault(e.Key, -1) != e.Value).Select(e => e.Key));
            Assert.Equal(outside, Total(root.GetProperty("outside_vms")));
            Assert.Equal(0, Total(root.GetProperty("exited_vms")));
            Assert.False(root.TryGetProperty("unattributed", out JsonElement unattributed) && Total(unattributed) != 0);

            // The exporter: a series per guest with its count, the host's total.
            string exposition = new MetricsWriter(openMetrics: false).Write(metrics.Format(sampler.Snapshot));
            var series = new Regex("""^kvm_guest_events_total\{guest="([a-z0-9]+)",pid="(\d+)",event="kvm_pio"\} (\d+)$""", RegexOptions.Multiline)
                .Matches(exposition).ToDictionary(m => int.Parse(m.Groups[2].Value), m => long.Parse(m.Groups[3].Value));
            Assert.Equal(Vms, series.Count);
            Assert.Equal([], expected.Where(e => series.GetValueOrDefault(e.Key, -1) != e.Value).Select(e => e.Key));
            Assert.Contains($"kvm_events_total{{event=\"kvm_pio\"}} {host}\n", exposition);
            Assert.Contains("kvm_stat_unattributed_events_total{event=\"kvm_pio\"} 0\n", exposition);
            Assert.Contains($"kvm_events_outside_vms_total{{event=\"kvm_pio\"}} {outside}\n", exposition);

            // The screen's per-guest view: its Total is the host's (the outside's row is further down the list).
            app.Refresh();
            var grid = new ScreenGrid(24, 80);
            app.Draw(grid);
            string screen = string.Join("\n", grid.Lines());
            Assert.Matches(new Regex($@"^ Total +{host} ", RegexOptions.Multiline), screen);
            Assert.Empty(engine.Warnings);
        }
        finally
        {
            before.ReleaseChildren();
            after.ReleaseChildren();
        }
    }
}
