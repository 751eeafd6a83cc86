using KvmStat.Exporter;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>The exposition a scraper gets, exactly, from sources under the test's control.</summary>
public class MetricsSamplerTests
{
    private readonly ManualTime _time = new();

    private sealed class Block(int vcpu, params (KvmStatDescriptor Descriptor, ulong[] Values)[] stats) : IStatsBlock
    {
        public IReadOnlyList<KvmStatDescriptor> Descriptors { get; } = [.. stats.Select(s => s.Descriptor)];

        public int VcpuIndex => vcpu;

        public ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor) => stats.First(s => s.Descriptor == descriptor).Values;
    }

    private sealed class Reader(List<VmStatsBlocks> vms, params SourceHealth[] health) : IVmStatsReader
    {
        public void Read(List<VmStatsBlocks> into)
        {
            into.Clear();
            into.AddRange(vms);
        }

        public void ReportHealth(List<SourceHealth> into) => into.AddRange(health);

        public void Dispose()
        {
        }
    }

    /// <summary>An exporter over sources the test controls: host fields, each VM's, binary statistics.</summary>
    private MetricsSampler Exporter(IStatsSource[]? host = null, IPerVmSource? perVm = null, IVmStatsReader? binary = null,
        Func<int, string?>? nameOf = null, FieldFilter? filter = null, ExporterIdentity? self = null, FieldFilter? guestFilter = null,
        ExitLatencies? latencies = null)
    {
        Sampler sampler = Samplers.Of(_time, host ?? [], perVm, nameOf: nameOf, binary: binary, latencies: latencies);
        return new MetricsSampler(sampler, filter ?? FieldFilter.Default, _time, followVms: false, self, _ => { }, guestFilter);
    }

    private static string Text(MetricsSampler sampler, bool openMetrics = false) =>
        new MetricsWriter(openMetrics).Write(sampler.Current().Families);

    /// <summary>
    /// Following VMs runs on a timer's thread, where an exception would end the process: a failure
    /// is said once while it lasts, scrapes go on, and a failure after a success is said again.
    /// </summary>
    [Fact]
    public void AFailureToFollowVmsIsSaidOnceAndScrapesGoOn()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"));
        guests.Set(100, "kvm_pio", 5);
        var warnings = new List<string>();
        Sampler inner = Samplers.Of(_time, [], guests, nameOf: _ => "vm");
        using var sampler = new MetricsSampler(inner, FieldFilter.Default, _time, followVms: false, null, warnings.Add);
        guests.FollowFails = new EnvironmentException("the BPF map cannot be read: EIO.", "fix");
        sampler.Follow();
        sampler.Follow();
        Assert.Equal(["following VMs between scrapes failed: the BPF map cannot be read: EIO."], warnings);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("kvm_guest_info{guest=\"vm\",pid=\"100\"} 1\n", Text(sampler));
        guests.FollowFails = null;
        sampler.Follow();
        Assert.Equal(1, guests.Followed);
        guests.FollowFails = new InvalidOperationException("bug");
        sampler.Follow();
        Assert.Equal("following VMs between scrapes failed: internal error: InvalidOperationException: bug", warnings[^1]);
        Assert.Equal(2, warnings.Count);
    }

    /// <summary>
    /// A vCPU thread counts every tracepoint the engine counts, more than are shown when -f leaves
    /// some to latencies alone: its series are the shown ones, through a new thread of the vCPU too.
    /// </summary>
    [Fact]
    public void AVcpusNewThreadGoesOnWhenThreadsCountHiddenTracepoints()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"));
        guests.VcpuFieldIndexes.Add(0);
        guests.Set(100, "kvm_pio", 5);
        guests.SetVcpu(100, 101, 1, 3, 9);
        using MetricsSampler sampler = Exporter(perVm: guests, nameOf: _ => "vm");
        _time.Advance(TimeSpan.FromSeconds(1));
        guests.Vcpus[100].Clear();
        guests.SetVcpu(100, 102, 1, 1, 4);
        string text = Text(sampler);
        Assert.Contains("kvm_guest_vcpu_events_total{guest=\"vm\",pid=\"100\",vcpu=\"1\",event=\"kvm_pio\"} 4\n", text);
    }

    [Fact]
    public void HostFieldsGoToTheirFamiliesByOrigin()
    {
        var host = new FakeSource(
            FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"),
            FakeSource.Gauge("pages_4k"), new StatField("exits", null, StatKind.Counter, FieldOrigin.Debugfs));
        using var sampler = Exporter(host: [host]);
        host.Set("kvm_pio", 7);
        host.Set("kvm_exit(HLT)", 2);
        host.Set("pages_4k", 512);
        host.Set("exits", 9);
        Assert.Equal("""
            # HELP kvm_events_total KVM tracepoint events on all CPUs since kvm_stat started.
            # TYPE kvm_events_total counter
            kvm_events_total{event="kvm_exit"} 0
            kvm_events_total{event="kvm_pio"} 7
            # HELP kvm_event_reasons_total KVM tracepoint events by exit reason.
            # TYPE kvm_event_reasons_total counter
            kvm_event_reasons_total{event="kvm_exit",reason="HLT"} 2
            # HELP kvm_debugfs_exits_total KVM debugfs statistic exits, all VMs (counted since kvm_stat started).
            # TYPE kvm_debugfs_exits_total counter
            kvm_debugfs_exits_total 9
            # HELP kvm_debugfs_pages_4k KVM debugfs statistic pages_4k, all VMs.
            # TYPE kvm_debugfs_pages_4k gauge
            kvm_debugfs_pages_4k 512

            """.Replace("            ", ""), Text(sampler));
        string openMetrics = Text(sampler, openMetrics: true);
        Assert.Contains("# TYPE kvm_events counter\nkvm_events_total{event=\"kvm_exit\"} 0\n", openMetrics);
        Assert.EndsWith("kvm_debugfs_pages_4k 512\n# EOF\n", openMetrics);
    }

    /// <summary>
    /// A VM that ended and another VM under its pid and name: the new one's series counts its own
    /// events, never the dead VM's (those are the exited VMs'), so guests, outside and exited VMs
    /// still add up to the host's.
    /// </summary>
    [Fact]
    public void ANewVmUnderADeadVmsPidNeverInheritsItsCounts()
    {
        var vms = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"));
        using var sampler = Exporter(perVm: vms, nameOf: pid => "web\\\"\n");
        const string Series = "kvm_guest_events_total{guest=\"web\\\\\\\"\\n\",pid=\"42\",event=\"kvm_pio\"}";
        vms.Set(42, "kvm_pio", 100);
        Assert.Contains($"{Series} 100\n", Text(sampler));
        Assert.DoesNotContain("HLT", Text(sampler));
        // The VM is restarted under the same pid: its counter starts from zero again.
        vms.Vms.Remove(42);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain("kvm_guest_events_total{", Text(sampler));
        vms.Set(42, "kvm_pio", 30);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains($"{Series} 30\n", Text(sampler));
        // Another one between two samples (the pid reused at once): its own count again.
        vms.Set(42, "kvm_pio", 4);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains($"{Series} 4\n", Text(sampler));
    }

    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoNamesOrSeriesBehind()
    {
        var exits = new KvmStatDescriptor("exits", KvmStatType.Cumulative, KvmStatUnit.None, 10, 0, 1, 0, 0);
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"));
        var binary = new List<VmStatsBlocks>();
        using var sampler = Exporter(perVm: guests, binary: new Reader(binary), nameOf: pid => $"vm{pid}");
        for (int round = 0; round < 10; round++)
        {
            for (int pid = round * 1000 + 1; pid <= (round + 1) * 1000; pid++)
            {
                guests.Set(pid, "kvm_pio", 5);
                var vm = new VmStatsBlocks(pid);
                vm.Blocks.Add(new Block(0, (exits, [9])));
                binary.Add(vm);
            }
            _time.Advance(TimeSpan.FromSeconds(1));
            string text = Text(sampler);
            Assert.Contains($"kvm_guest_events_total{{guest=\"vm{round * 1000 + 1}\",pid=\"{round * 1000 + 1}\",event=\"kvm_pio\"}} 5\n", text);
            Assert.Contains($"kvm_vcpu_exits_total{{guest=\"vm{round * 1000 + 1}\",pid=\"{round * 1000 + 1}\",vcpu=\"0\"}} 9\n", text);
            guests.Vms.Clear();
            binary.Clear();
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.DoesNotContain("pid=", Text(sampler));
        }
    }

    /// <summary>With the BPF engine the events no running VM raised are a family of their own: with the guests they make the host's.</summary>
    [Fact]
    public void EventsOutsideRunningVmsAddUpWithTheGuestsToTheHost()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"))
        {
            Outside = [4, 1],
            Exited = [30, 2],
            Unattributed = [6, 0],
        };
        guests.Set(42, "kvm_pio", 100);
        using var sampler = Exporter(perVm: guests, nameOf: _ => "web");
        string text = Text(sampler);
        Assert.Contains("""
            # HELP kvm_events_outside_vms_total KVM tracepoint events of processes that run no VM (kernel threads ageing guest memory, other processes) since kvm_stat started; with perf counters the host's events beyond the VMs' counters, those of VMs left out included.
            # TYPE kvm_events_outside_vms_total counter
            kvm_events_outside_vms_total{event="kvm_pio"} 4
            # HELP kvm_events_exited_vms_total KVM tracepoint events of VMs that exited since kvm_stat started, from their first event to their last.
            # TYPE kvm_events_exited_vms_total counter
            kvm_events_exited_vms_total{event="kvm_pio"} 30
            # HELP kvm_stat_unattributed_events_total KVM tracepoint events kvm_stat could not give to a process since it started: its table of processes was full. Nonzero means per-guest counts are missing events.
            # TYPE kvm_stat_unattributed_events_total counter
            kvm_stat_unattributed_events_total{event="kvm_pio"} 6

            """.Replace("            ", ""), text);
        Assert.Contains("\nkvm_stat_vms_left_out 0\n", text);
        // A source that counts only VMs (the perf engine) gets its row outside VMs by difference; VMs it cannot count are said.
        var perfVms = new FakeVmSource(FakeSource.Counter("kvm_pio")) { VmsLeftOut = 85, OnlyVms = true };
        perfVms.LeftOutPids.Add(4242);
        using var perf = Exporter(perVm: perfVms, nameOf: _ => "web");
        string perfText = Text(perf);
        // Which VMs are not counted, by name: kvm_guest_info has the counted ones.
        Assert.Contains("\nkvm_guest_left_out{guest=\"web\",pid=\"4242\"} 1\n", perfText);
        Assert.Contains("\nkvm_events_outside_vms_total{event=\"kvm_pio\"} 0\n", perfText);
        Assert.Contains("\nkvm_stat_vms_left_out 85\n", perfText);
        // Perf counters give no event to a wrong process: no family of unattributed events, which would say a check they do not make.
        Assert.DoesNotContain("unattributed", perfText);
        // With neither (debugfs alone counts only VMs, and this one no exited VM): no such family.
        using var debugfs = Exporter(perVm: new FakeVmSource(FakeSource.Counter("kvm_pio")), nameOf: _ => "web");
        Assert.DoesNotContain("outside", Text(debugfs));
    }

    /// <summary>The exporter's cost, build, scrape time and sources, as operators scrape every exporter for.</summary>
    [Fact]
    public void TheExporterDescribesItself()
    {
        var host = new FakeSource(FakeSource.Counter("kvm_pio"));
        var reader = new Reader([], new SourceHealth("qmp", "/run/a.sock", null), new SourceHealth("qmp", "/run/b\".sock", "QMP socket /run/b\".sock did not greet within 2 s."));
        using var sampler = Exporter(host: [host], binary: reader, self: new ExporterIdentity("9.9.9", "bpf"));
        string text = Text(sampler);
        foreach (string family in new[] { "process_cpu_seconds_total counter", "process_resident_memory_bytes gauge", "process_open_fds gauge",
                     "process_max_fds gauge", "process_start_time_seconds gauge", "kvm_stat_scrape_duration_seconds gauge" })
            Assert.Contains($"# TYPE {family}\n", text);
        Assert.Matches("\nprocess_open_fds [1-9][0-9]*\n", text);
        Assert.Matches("\nprocess_resident_memory_bytes [1-9][0-9]{6,}\n", text);
        Assert.Contains("kvm_stat_build_info{version=\"9.9.9\",runtime=\".NET ", text);
        Assert.Contains("engine=\"bpf\"} 1\n", text);
        Assert.Contains("kvm_stat_source_up{source=\"tracepoints\",target=\"\",reason=\"\"} 1\n", text);
        Assert.Contains("kvm_stat_source_up{source=\"qmp\",target=\"/run/a.sock\",reason=\"\"} 1\n", text);
        Assert.Contains("kvm_stat_source_up{source=\"qmp\",target=\"/run/b\\\".sock\",reason=\"QMP socket /run/b\\\".sock did not greet within 2 s.\"} 0\n", text);
        // Without them (the other tests), none of these families.
        using var plain = Exporter(host: [host]);
        Assert.DoesNotContain("process_", Text(plain));
    }

    [Fact]
    public void ScrapesWithinHalfASecondShareASample()
    {
        var host = new FakeSource(FakeSource.Counter("kvm_pio"));
        using var sampler = Exporter(host: [host]);
        int first = sampler.Current().SampleNumber;
        host.Set("kvm_pio", 5);
        _time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Equal(first, sampler.Current().SampleNumber);
        Assert.Contains("kvm_events_total{event=\"kvm_pio\"} 0\n", Text(sampler));
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(first + 1, sampler.Current().SampleNumber);
        Assert.Contains("kvm_events_total{event=\"kvm_pio\"} 5\n", Text(sampler));
    }

    [Fact]
    public void BinaryStatisticsInBaseUnitsWithHistogramBuckets()
    {
        var exits = new KvmStatDescriptor("exits", KvmStatType.Cumulative, KvmStatUnit.None, 10, 0, 1, 0, 0);
        var waited = new KvmStatDescriptor("halt_wait_ns", KvmStatType.Cumulative, KvmStatUnit.Seconds, 10, -9, 1, 8, 0);
        var pages = new KvmStatDescriptor("pages_4k", KvmStatType.Instant, KvmStatUnit.None, 10, 0, 1, 16, 0);
        var histogram = new KvmStatDescriptor("halt_wait_hist", KvmStatType.LogHistogram, KvmStatUnit.Seconds, 10, -9, 3, 24, 0);
        var vm = new VmStatsBlocks(77);
        vm.Blocks.Add(new Block(-1, (pages, [256])));
        vm.Blocks.Add(new Block(0, (exits, [12]), (waited, [1_500_000_000]), (histogram, [1, 2, 3])));
        using var sampler = Exporter(binary: new Reader([vm]), nameOf: pid => "db");
        string text = Text(sampler);
        Assert.Contains("# TYPE kvm_vm_pages_4k gauge\nkvm_vm_pages_4k{guest=\"db\",pid=\"77\"} 256\n", text);
        Assert.Contains("# TYPE kvm_vcpu_exits_total counter\nkvm_vcpu_exits_total{guest=\"db\",pid=\"77\",vcpu=\"0\"} 12\n", text);
        Assert.Contains("kvm_vcpu_halt_wait_seconds_total{guest=\"db\",pid=\"77\",vcpu=\"0\"} 1.5\n", text);
        Assert.Contains("""
            # TYPE kvm_vcpu_halt_wait_hist_seconds histogram
            kvm_vcpu_halt_wait_hist_seconds_bucket{guest="db",pid="77",vcpu="0",le="1e-09"} 1
            kvm_vcpu_halt_wait_hist_seconds_bucket{guest="db",pid="77",vcpu="0",le="2e-09"} 3
            kvm_vcpu_halt_wait_hist_seconds_bucket{guest="db",pid="77",vcpu="0",le="+Inf"} 6

            """.Replace("            ", ""), text);
        // -f filters the binary statistics too.
        using var filtered = Exporter(binary: new Reader([vm]), nameOf: pid => "db", filter: FieldFilter.Create("pages"));
        Assert.DoesNotContain("exits", Text(filtered));
        Assert.Contains("kvm_vm_pages_4k", Text(filtered));
    }

    /// <summary>
    /// A counter KVM starts again from zero (a vCPU made again) is served as KVM counts it, the
    /// value -1 --json gives in the same second: a reset to Prometheus, whose rate() counts from
    /// zero across it.
    /// </summary>
    [Fact]
    public void ACounterThatStartsAgainIsServedAsKvmCountsIt()
    {
        var exits = new KvmStatDescriptor("exits", KvmStatType.Cumulative, KvmStatUnit.None, 10, 0, 1, 0, 0);
        ulong[] value = [130];
        var vm = new VmStatsBlocks(77);
        vm.Blocks.Add(new Block(0, (exits, value)));
        using var sampler = Exporter(binary: new Reader([vm]), nameOf: pid => "db");
        Assert.Contains("kvm_vcpu_exits_total{guest=\"db\",pid=\"77\",vcpu=\"0\"} 130\n", Text(sampler));
        value[0] = 50;
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("kvm_vcpu_exits_total{guest=\"db\",pid=\"77\",vcpu=\"0\"} 50\n", Text(sampler));
    }

    /// <summary>Per-guest series only for the events a VM raised: with thousands of VMs, a series per tracepoint would be mostly zeros.</summary>
    [Fact]
    public void GuestSeriesOnlyForEventsThatHappened()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_mmio"));
        guests.Set(42, "kvm_pio", 0);
        guests.Set(43, "kvm_mmio", 3);
        using MetricsSampler sampler = Exporter(perVm: guests, nameOf: pid => $"vm{pid}");
        string text = Text(sampler);
        // An idle VM: only its info.
        Assert.Equal(["kvm_guest_info{guest=\"vm42\",pid=\"42\"} 1"], text.Split('\n').Where(l => l.Contains("pid=\"42\"", StringComparison.Ordinal)));
        Assert.Contains("kvm_guest_info{guest=\"vm43\",pid=\"43\"} 1\n", text);
        Assert.Contains("kvm_guest_events_total{guest=\"vm43\",pid=\"43\",event=\"kvm_mmio\"} 3\n", text);
        Assert.DoesNotContain("event=\"kvm_pio\"}", text.Split('\n').Where(l => l.StartsWith("kvm_guest_events_total", StringComparison.Ordinal)).FirstOrDefault() ?? "");
        guests.Set(42, "kvm_pio", 1);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("kvm_guest_events_total{guest=\"vm42\",pid=\"42\",event=\"kvm_pio\"} 1\n", Text(sampler));
    }

    /// <summary>--guest-fields: per-guest series only for the fields it matches; every guest still has its info.</summary>
    [Fact]
    public void GuestFieldsLimitWhichFieldsGetPerGuestSeries()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_mmio"));
        guests.Set(42, "kvm_pio", 5);
        guests.Set(42, "kvm_mmio", 3);
        using MetricsSampler sampler = Exporter(perVm: guests, nameOf: pid => $"vm{pid}", guestFilter: FieldFilter.Create("kvm_mmio"));
        string text = Text(sampler);
        Assert.Equal(["kvm_guest_events_total{guest=\"vm42\",pid=\"42\",event=\"kvm_mmio\"} 3"],
            text.Split('\n').Where(l => l.StartsWith("kvm_guest_events_total{", StringComparison.Ordinal)));
        Assert.Contains("kvm_guest_info{guest=\"vm42\",pid=\"42\"} 1\n", text);
    }

    /// <summary>
    /// Each guest's exits by reason, a series for each reason it met (as its events), and only for
    /// the reasons --guest-fields matches.
    /// </summary>
    [Fact]
    public void EachGuestsExitReasonsAreSeriesOfTheirOwn()
    {
        StatField[] fields = [FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"), FakeSource.Counter("kvm_exit(IO_INSTRUCTION)", "kvm_exit"),
            FakeSource.Counter("kvm_exit(MSR_WRITE)", "kvm_exit")];
        var guests = new FakeVmSource(fields);
        guests.Set(42, "kvm_exit", 9);
        guests.Set(42, "kvm_exit(HLT)", 2);
        guests.Set(42, "kvm_exit(IO_INSTRUCTION)", 7);
        using MetricsSampler sampler = Exporter(perVm: guests, nameOf: pid => $"vm{pid}");
        string text = Text(sampler);
        Assert.Equal(["kvm_guest_event_reasons_total{guest=\"vm42\",pid=\"42\",event=\"kvm_exit\",reason=\"HLT\"} 2",
            "kvm_guest_event_reasons_total{guest=\"vm42\",pid=\"42\",event=\"kvm_exit\",reason=\"IO_INSTRUCTION\"} 7"],
            text.Split('\n').Where(l => l.StartsWith("kvm_guest_event_reasons_total{", StringComparison.Ordinal)));
        Assert.Equal(["kvm_guest_events_total{guest=\"vm42\",pid=\"42\",event=\"kvm_exit\"} 9"],
            text.Split('\n').Where(l => l.StartsWith("kvm_guest_events_total{", StringComparison.Ordinal)));

        // As JSON's guests: a reason brings its tracepoint, a tracepoint its reasons.
        using MetricsSampler limited = Exporter(perVm: guests, nameOf: pid => $"vm{pid}", guestFilter: FieldFilter.Create(@"kvm_exit\(IO"));
        string[] kept = [.. Text(limited).Split('\n').Where(l => l.StartsWith("kvm_guest_event", StringComparison.Ordinal))];
        Assert.Equal(["kvm_guest_events_total{guest=\"vm42\",pid=\"42\",event=\"kvm_exit\"} 9",
            "kvm_guest_event_reasons_total{guest=\"vm42\",pid=\"42\",event=\"kvm_exit\",reason=\"IO_INSTRUCTION\"} 7"], kept);
        using MetricsSampler parent = Exporter(perVm: guests, nameOf: pid => $"vm{pid}", guestFilter: FieldFilter.Create("kvm_exit$"));
        Assert.Equal(2, Text(parent).Split('\n').Count(l => l.StartsWith("kvm_guest_event_reasons_total{", StringComparison.Ordinal)));
    }

    /// <summary>
    /// --guest-fields limits each guest's exit-latency histograms to the reasons it matches (27
    /// series each: at 4,000 VMs, ten reasons were a million lines); the host's keep every reason.
    /// </summary>
    [Fact]
    public void GuestFieldsLimitWhichReasonsGetPerGuestHistograms()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_userspace_exit"));
        guests.Set(42, "kvm_userspace_exit", 5);
        ExitLatencies latencies = LatencyFixture.Io3Mmio2(42);
        using MetricsSampler sampler = Exporter(perVm: guests, nameOf: pid => $"vm{pid}", guestFilter: FieldFilter.Create(@"kvm_userspace_exit\(IO"), latencies: latencies);
        string[] counts = [.. Text(sampler).Split('\n').Where(l => l.Contains("_handling_seconds_count", StringComparison.Ordinal))];
        Assert.Equal([
            "kvm_exit_handling_seconds_count{event=\"kvm_userspace_exit\",reason=\"IO\"} 3",
            "kvm_exit_handling_seconds_count{event=\"kvm_userspace_exit\",reason=\"MMIO\"} 2",
            "kvm_guest_exit_handling_seconds_count{guest=\"vm42\",pid=\"42\",event=\"kvm_userspace_exit\",reason=\"IO\"} 3"], counts);
        using MetricsSampler every = Exporter(perVm: guests, nameOf: pid => $"vm{pid}", latencies: latencies);
        Assert.Equal(2, Text(every).Split('\n').Count(l => l.StartsWith("kvm_guest_exit_handling_seconds_count", StringComparison.Ordinal)));
    }

    /// <summary>
    /// --vcpus: a series per vCPU and event it raised; a vCPU's series goes on over its threads (the
    /// old one and its successor in one scrape, then the new one alone: never backwards, never
    /// counted twice); a thread of no known vCPU is named by its id; --guest-fields limits them; the
    /// events no row was left for are a series of their own.
    /// </summary>
    [Fact]
    public void EachVcpuIsASeriesThatGoesOnOverItsThreads()
    {
        var guests = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_mmio"));
        guests.VcpuFieldIndexes.AddRange([0, 1]);
        guests.Set(42, "kvm_pio", 20);
        guests.SetVcpu(42, 100, 0, 5, 0);
        guests.SetVcpu(42, 101, 1, 2, 1);
        guests.SetVcpu(42, 300, -1, 1, 0);
        guests.Lost = 3;
        using MetricsSampler sampler = Exporter(perVm: guests, nameOf: pid => $"vm{pid}");
        string[] Series(string text) => [.. text.Split('\n').Where(l => l.StartsWith("kvm_guest_vcpu_events_total{", StringComparison.Ordinal))];
        string text = Text(sampler);
        Assert.Equal(
        [
            "kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"0\",event=\"kvm_pio\"} 5",
            "kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"1\",event=\"kvm_pio\"} 2",
            "kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"1\",event=\"kvm_mmio\"} 1",
            "kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"tid 300\",event=\"kvm_pio\"} 1",
        ], Series(text));
        Assert.Contains("kvm_stat_vcpu_lost_events_total 3\n", text);

        // vCPU 1's new thread beside its old one, then alone.
        guests.SetVcpu(42, 102, 1, 3, 0);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"1\",event=\"kvm_pio\"} 5", Series(Text(sampler)));
        guests.Vcpus[42].RemoveAll(v => v.Tid == 101);
        guests.SetVcpu(42, 102, 1, 4, 0);
        _time.Advance(TimeSpan.FromSeconds(1));
        string[] after = Series(Text(sampler));
        Assert.Contains("kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"1\",event=\"kvm_pio\"} 6", after);
        Assert.Contains("kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"1\",event=\"kvm_mmio\"} 1", after);

        guests.SetVcpu(42, 102, 1, 4, 2);
        using MetricsSampler limited = Exporter(perVm: guests, nameOf: pid => $"vm{pid}", guestFilter: FieldFilter.Create("kvm_mmio"));
        Assert.Equal(["kvm_guest_vcpu_events_total{guest=\"vm42\",pid=\"42\",vcpu=\"1\",event=\"kvm_mmio\"} 2"], Series(Text(limited)));
    }
}
