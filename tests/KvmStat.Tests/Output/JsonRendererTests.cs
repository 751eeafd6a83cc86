using KvmStat.Output;
using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Output;

/// <summary>--json's records, exactly: what a script that reads them relies on.</summary>
public class JsonRendererTests
{
    private readonly ManualTime _time = new();
    private readonly FakeSource _host = new(
        FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"), FakeSource.Counter("kvm_exit(IO)", "kvm_exit"),
        new StatField("halt_wait_ns", null, StatKind.Counter, FieldOrigin.BinaryStats, "ns"), FakeSource.Gauge("pages_4k"));
    private readonly FakeVmSource _vms = new(FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_pio"));

    private string Render(Sampler sampler, bool skipZeroRecords = false, int samples = 1, FieldFilter? guestFilter = null)
    {
        var output = new StringWriter();
        using OutputSink sink = OutputSink.Stdout(output);
        var renderer = new JsonRenderer(sink, skipZeroRecords, guestFilter: guestFilter);
        renderer.Start(sampler.Snapshot);
        for (int i = 0; i < samples; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1.5));
            sampler.Sample();
            renderer.Render(sampler.Snapshot);
        }
        return output.ToString();
    }

    [Fact]
    public void ASampleWithChildrenUnitsGaugesAndGuests()
    {
        using var sampler = Samplers.Of(_time, [_host], _vms, nameOf: pid => pid == 7 ? "web\"1" : null);
        _vms.Set(7, "kvm_pio", 3);
        sampler.Sample();
        _host.Set("kvm_exit", 30);
        _host.Set("kvm_exit(HLT)", 20);
        _host.Set("kvm_exit(IO)", 10);
        _host.Set("halt_wait_ns", 5000);
        _host.Set("pages_4k", 512);
        _vms.Set(7, "kvm_pio", 10);
        _vms.Set(9, "kvm_exit", 4);
        Assert.Equal(
            "{\"timestamp\":\"2026-11-27T09:05:04.5+00:00\",\"interval_seconds\":1.5,\"fields\":{" +
            "\"halt_wait_ns\":{\"total\":5000,\"delta\":5000,\"unit\":\"ns\"}," +
            "\"kvm_exit\":{\"total\":30,\"delta\":30,\"children\":{\"HLT\":{\"total\":20,\"delta\":20},\"IO\":{\"total\":10,\"delta\":10}}}," +
            "\"pages_4k\":{\"value\":512}}," +
            // A guest's counters that never counted are left out (0).
            "\"guests\":[{\"pid\":7,\"name\":\"web\\u00221\",\"fields\":{\"kvm_pio\":{\"total\":10,\"delta\":7}}}," +
            "{\"pid\":9,\"name\":\"\",\"fields\":{\"kvm_exit\":{\"total\":4,\"delta\":4}}}]}\n",
            Render(sampler));
    }

    /// <summary>A record of the host and its guests, written to a file, allocates nothing once it runs (-L --json at every interval).</summary>
    [Fact]
    public void ARecordWithGuestsAllocatesNothingInSteadyState()
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-json-").FullName;
        try
        {
            using var sampler = Samplers.Of(_time, [_host], _vms, nameOf: pid => $"vm{pid}");
            _vms.Set(7, "kvm_pio", 3);
            _vms.Set(9, "kvm_exit", 4);
            sampler.Sample();
            using (OutputSink sink = OutputSink.AppendTo(Path.Join(folder, "log")))
            {
                var renderer = new JsonRenderer(sink, skipZeroRecords: false);
                renderer.Start(sampler.Snapshot);
                _host.Set("kvm_exit", 5);
                _time.Advance(TimeSpan.FromSeconds(1));
                sampler.Sample();
                // The record alone: this test's per-VM source allocates its readings.
                Assert.Equal(0, Allocations.InSteadyState(() => renderer.Render(sampler.Snapshot)));
            }
            Assert.Contains("\"name\":\"vm9\"", File.ReadLines(Path.Join(folder, "log")).Last());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Another user's guest name of a megabyte is cut at 256 characters, as the exporter's labels are: records stay small.</summary>
    [Fact]
    public void LongGuestNamesAreCut()
    {
        string huge = new('n', 1 << 20);
        using var sampler = Samplers.Of(_time, [_host], _vms, nameOf: _ => huge);
        _vms.Set(7, "kvm_pio", 3);
        sampler.Sample();
        string line = Render(sampler);
        Assert.Contains($"\"name\":\"{new string('n', 256)}\",", line);
        Assert.InRange(line.Length, 300, 2000);
    }

    /// <summary>A place binary statistics come from that cannot be read now (a QMP peer gone).</summary>
    private sealed class DownReader : KvmStat.Sources.BinaryStats.IVmStatsReader
    {
        internal string? Problem { get; set; }

        public void Read(List<KvmStat.Sources.BinaryStats.VmStatsBlocks> vms) => vms.Clear();

        public void ReportHealth(List<SourceHealth> into) => into.Add(new SourceHealth("qmp", "/run/web.sock", Problem));

        public void Dispose()
        {
        }
    }

    /// <summary>A record says which sources could not be read at its sample, so that an outage is never read as an idle VM.</summary>
    [Fact]
    public void ASourceThatIsDownIsInTheRecord()
    {
        var reader = new DownReader();
        using var sampler = Samplers.Of(_time, [_host], binary: reader);
        sampler.Sample();
        Assert.DoesNotContain("\"down\"", Render(sampler));
        reader.Problem = "QMP socket /run/web.sock refuses connections.";
        Assert.EndsWith(",\"down\":[{\"source\":\"qmp\",\"target\":\"/run/web.sock\",\"problem\":\"QMP socket /run/web.sock refuses connections.\"}]}\n", Render(sampler));
    }

    /// <summary>--guest-fields limits each guest's exit_latency to the reasons it matches, as the exporter's; the host's keep every reason.</summary>
    [Fact]
    public void GuestFieldsLimitEachGuestsExitLatencies()
    {
        using var sampler = Samplers.Of(_time, [_host], _vms, nameOf: _ => "web", latencies: LatencyFixture.Io3Mmio2(7));
        _vms.Set(7, "kvm_pio", 1);
        sampler.Sample();
        string line = Render(sampler, guestFilter: FieldFilter.Create(@"kvm_userspace_exit\(IO"));
        Assert.Contains("\"exit_latency\":{\"kvm_userspace_exit(IO)\":{\"buckets_ns\":[", line);
        Assert.Equal(2, line.Split("\"kvm_userspace_exit(MMIO)\"").Length);
        Assert.Equal(3, Render(sampler).Split("\"kvm_userspace_exit(MMIO)\"").Length);
        // A tracepoint keeps the histograms of its reasons, as it keeps their counts.
        Assert.Equal(3, Render(sampler, guestFilter: FieldFilter.Create("kvm_userspace_exit$")).Split("\"kvm_userspace_exit(MMIO)\"").Length);
    }

    /// <summary>--guest-fields: each guest has only the fields it matches; the host's are all there.</summary>
    [Fact]
    public void GuestFieldsLimitEachGuestsFields()
    {
        using var sampler = Samplers.Of(_time, [_host], _vms, nameOf: _ => "web");
        sampler.Sample();
        _vms.Set(7, "kvm_pio", 10);
        _vms.Set(7, "kvm_exit", 4);
        _vms.Outside = [3, 0];
        _vms.VmsLeftOut = 2;
        _vms.LeftOutPids.AddRange([8, 9]);
        string line = Render(sampler, guestFilter: FieldFilter.Create("kvm_pio"));
        Assert.Contains("\"guests\":[{\"pid\":7,\"name\":\"web\",\"fields\":{\"kvm_pio\":{\"total\":10,\"delta\":10}}}]", line);
        // The rows beside the guests are not limited: what no guest was given is never hidden.
        Assert.Contains("\"outside_vms\":{\"kvm_exit\":{\"total\":3,\"delta\":3}}", line);
        // VMs the engine cannot count are never silent either.
        Assert.Contains("}}}],\"vms_left_out\":2,\"left_out\":[{\"pid\":8,\"name\":\"web\"},{\"pid\":9,\"name\":\"web\"}],", line);
        Assert.Contains("\"fields\":{\"halt_wait_ns\"", line);
    }

    /// <summary>--guest-fields keeps a reason under its tracepoint, and a tracepoint with its reasons, as the exporter does.</summary>
    [Fact]
    public void GuestFieldsKeepReasonsAsTheExporterDoes()
    {
        var vms = new FakeVmSource(FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"), FakeSource.Counter("kvm_exit(IO_INSTRUCTION)", "kvm_exit"));
        using var sampler = Samplers.Of(_time, [_host], vms, nameOf: _ => "web");
        sampler.Sample();
        vms.Set(7, "kvm_exit", 9);
        vms.Set(7, "kvm_exit(HLT)", 2);
        vms.Set(7, "kvm_exit(IO_INSTRUCTION)", 7);
        Assert.Contains("\"fields\":{\"kvm_exit\":{\"total\":9,\"delta\":9,\"children\":{\"IO_INSTRUCTION\":{\"total\":7,\"delta\":7}}}}",
            Render(sampler, guestFilter: FieldFilter.Create(@"kvm_exit\(IO")));
        // A sample later: the same totals, no new events.
        Assert.Contains("\"fields\":{\"kvm_exit\":{\"total\":9,\"delta\":0,\"children\":{\"HLT\":{\"total\":2,\"delta\":0},\"IO_INSTRUCTION\":{\"total\":7,\"delta\":0}}}}",
            Render(sampler, guestFilter: FieldFilter.Create("kvm_exit$")));
    }

    [Fact]
    public void OneVmCarriesItsPidAndNameAndNoGuestList()
    {
        using var sampler = Samplers.Of(_time, [_host], vm: new WatchedVm(4242, "db"));
        sampler.Sample();
        string line = Render(sampler);
        Assert.Contains("\"interval_seconds\":1.5,\"pid\":4242,\"name\":\"db\",\"fields\":", line);
        Assert.DoesNotContain("guests", line);
    }

    [Fact]
    public void SkipZeroRecordsLeavesQuietSamplesOut()
    {
        using var sampler = Samplers.Of(_time, [_host]);
        sampler.Sample();
        Assert.Equal("", Render(sampler, skipZeroRecords: true, samples: 2));
        _host.Set("kvm_exit", 1);
        string[] lines = Render(sampler, skipZeroRecords: true, samples: 2).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("\"kvm_exit\":{\"total\":1,\"delta\":1,", lines[0]);
    }

    /// <summary>
    /// --vcpus: each guest's vCPUs, one key each over its threads, with totals and deltas as the
    /// screen and the exporter count them: a vCPU's new thread beside its old one adds to it, and
    /// goes on from it when the old one is gone; a vCPU whose threads are all gone keeps its counts
    /// (tid null); --guest-fields limits their fields as the guest's.
    /// </summary>
    [Fact]
    public void EachGuestsVcpuIsOneKeyOverItsThreads()
    {
        _vms.VcpuFieldIndexes.AddRange([0, 1]);
        _vms.Set(7, "kvm_pio", 9);
        _vms.SetVcpu(7, 101, 1, 0, 2);
        _vms.SetVcpu(7, 100, 0, 1, 4);
        using var sampler = Samplers.Of(_time, [_host], _vms, nameOf: _ => "web");
        sampler.Sample();
        _vms.SetVcpu(7, 100, 0, 1, 10);
        _vms.SetVcpu(7, 102, 1, 0, 3);
        _vms.SetVcpu(7, 300, -1, 0, 1);
        _vms.Lost = 5;
        string line = Render(sampler);
        Assert.Contains("\"vcpus\":{" +
            "\"vcpu0\":{\"tid\":100,\"fields\":{\"kvm_exit\":{\"total\":1,\"delta\":0},\"kvm_pio\":{\"total\":10,\"delta\":6}}}," +
            "\"vcpu1\":{\"tid\":102,\"fields\":{\"kvm_pio\":{\"total\":5,\"delta\":3}}}," +
            "\"tid 300\":{\"tid\":300,\"fields\":{\"kvm_pio\":{\"total\":1,\"delta\":1}}}}}]," +
            "\"vcpus_lost\":5", line);

        _vms.Vcpus[7].RemoveAll(v => v.Tid == 101);
        _vms.SetVcpu(7, 102, 1, 0, 4);
        Assert.Contains("\"vcpu1\":{\"tid\":102,\"fields\":{\"kvm_pio\":{\"total\":6,\"delta\":1}}}", Render(sampler));
        _vms.Vcpus[7].RemoveAll(v => v.Tid == 102);
        Assert.Contains("\"vcpu1\":{\"tid\":null,\"fields\":{\"kvm_pio\":{\"total\":6,\"delta\":0}}}", Render(sampler));

        string limited = Render(sampler, guestFilter: FieldFilter.Create("kvm_pio"));
        Assert.Contains("\"vcpu0\":{\"tid\":100,\"fields\":{\"kvm_pio\":{\"total\":10,\"delta\":0}}}", limited);
    }
    /// <summary>A vCPU's histogram holds everything from 2^33 ns (8.6 s) in its last bucket: a vCPU out for ten minutes is no "up to 17 s".</summary>
    [Fact]
    public void AVcpusLastBucketHasNoUpperBound()
    {
        var histogram = new LatencyHistogram(34);
        histogram.Buckets[10] = 1;
        histogram.Buckets[33] = 2;
        histogram.Nanoseconds = 1500 + 2 * 600_000_000_000UL;
        using var stream = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            JsonLatencies.WriteOne(w, "kvm_userspace_exit", histogram);
            w.WriteEndObject();
        }
        string json = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("[2048,1]", json);
        Assert.Contains("[8589934592,1],[null,3]]", json);
    }
}
