using System.Text.Json;
using KvmStat.Exporter;
using KvmStat.Output;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// Exit latencies with an oracle: a test process stamps an exit with the engine's own exit program,
/// waits a known time, then enters again (the entry program, or a real ioctl(KVM_RUN) that the
/// entry program on sys_enter sees), and the histogram holds its exits in the bucket of that time.
/// </summary>
[Collection(BpfCollection.Name)]
public class BpfLatencyTests
{
    private static readonly byte[] s_none = SyntheticEngine.Arguments(0);

    private static byte[] UserspaceExit(uint reason) => SyntheticEngine.Arguments(reason, 0);

    /// <summary>The bucket of a time: [2^N, 2^(N+1)) nanoseconds.</summary>
    private static int BucketOf(TimeSpan time) => (int)Math.Floor(Math.Log2(time.TotalNanoseconds));

    private static LatencyHistogram Histogram(ExitLatencies latencies, int pid, string field)
    {
        int index = latencies.Fields.IndexOf(field);
        return latencies.Vms[pid][index];
    }

    /// <summary>
    /// The kernel's histogram against what the test process saw: every exit counted; none below the
    /// bucket of the time waited (each exit lasted at least that); and none later than the process's
    /// own clock allows (it timed each exit from outside both programs: the kernel's count up to any
    /// bucket is at least the process's). So where the process saw at least 95 % of its exits in
    /// the bucket that holds the time waited, as on an undisturbed machine, so did the kernel; a
    /// busy machine that delayed the process loosens the bound, never fails it. Their time together
    /// at least what was waited, and within the bounds of their buckets.
    /// </summary>
    private static void AssertBucket(LatencyHistogram histogram, TimeSpan waited, ulong[] bounds)
    {
        ulong[] buckets = histogram.Buckets;
        string Shown(ulong[] counts) => string.Join(",", counts.Select((c, i) => (c, i)).Where(p => p.c > 0).Select(p => $"{p.i}:{p.c}"));
        string both = $"kernel {Shown(buckets)}, process {Shown(bounds)} (waited {waited.TotalMicroseconds} µs)";
        ulong exits = (ulong)bounds.Sum(b => (long)b);
        Assert.Equal(exits, histogram.Count);
        int bucket = BucketOf(waited);
        Assert.True(buckets.Take(bucket).All(c => c == 0), both);
        ulong kernel = 0, process = 0;
        for (int b = 0; b < buckets.Length; b++)
        {
            kernel += buckets[b];
            process += bounds[b];
            Assert.True(kernel >= process, $"bucket {b}: {both}");
        }
        if (bounds[bucket] >= exits * 0.95)
            Assert.True(buckets[bucket] >= exits * 0.95, both);
        double low = buckets.Select((c, i) => c * ExitLatencies.BucketLow(i)).Sum();
        double high = buckets.Select((c, i) => c == 0 ? 0 : c * ExitLatencies.BucketHigh(i)).Sum();
        Assert.InRange(histogram.Nanoseconds, (ulong)Math.Max(low, exits * waited.TotalNanoseconds), (ulong)high);
    }

    [Fact]
    public void ExitsHandledInUserSpaceEndAtTheNextVmEntry()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "timed");
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        (long io, ulong[] ioBounds) = vm.TimedWithBounds(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 200);
        (long mmio, ulong[] mmioBounds) = vm.TimedWithBounds(exit, UserspaceExit(6), TimeSpan.FromMicroseconds(200), entry, s_none, count: 100);
        Assert.Equal((0, 0), (io, mmio));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(IO)"), TimeSpan.FromMicroseconds(20), ioBounds);
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(MMIO)"), TimeSpan.FromMicroseconds(200), mmioBounds);
        Assert.Equal(200, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_userspace_exit(IO)"));
        Assert.Equal("kvm_entry", latencies.Entry);
        Assert.Equal(0, latencies.Lost);
    }

    /// <summary>
    /// A run that stamps exits and never sees one end (kvm_entry chosen where it does not fire)
    /// says so once, when enough exits were counted that none timed is no chance.
    /// </summary>
    [Fact]
    public void ExitsCountedAndNoneTimedAreSaidOnce()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "untimed");
        BpfProgram exit = engine.Program("kvm_userspace_exit");
        vm.Run(exit, UserspaceExit(2), count: (int)BpfCounters.UntimedExits - 1);
        engine.Counters.Capture();
        Assert.DoesNotContain(engine.Warnings, w => w.Contains("none timed", StringComparison.Ordinal));
        vm.Run(exit, UserspaceExit(2));
        engine.Counters.Capture();
        engine.Counters.Capture();
        Assert.Equal("--latency: 1000 exits counted and none timed: what ends an exit here (kvm_entry) has not fired. " +
            "kvm_stat --doctor says whether it fires on this host; where it does not, exit latencies cannot be measured.",
            Assert.Single(engine.Warnings, w => w.Contains("none timed", StringComparison.Ordinal)));

        // One exit that ends is enough to show that exits end.
        using var timed = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry);
        timed.MakeVm(vm.Pid, "timed");
        vm.Run(timed.Program("kvm_userspace_exit"), UserspaceExit(2), count: (int)BpfCounters.UntimedExits);
        vm.Run(timed.Program(BpfPrograms.KvmEntry), s_none);
        timed.Counters.Capture();
        Assert.DoesNotContain(timed.Warnings, w => w.Contains("none timed", StringComparison.Ordinal));
    }

    /// <summary>Where kvm_entry never fires, the next ioctl(KVM_RUN) ends an exit to user space: the real system call, seen by the entry program on sys_enter.</summary>
    [Fact]
    public void WhereKvmEntryNeverFiresTheNextKvmRunEndsAnExit()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.SyscallEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "syscall");
        BpfProgram exit = engine.Program("kvm_userspace_exit");
        using Interop.FileDescriptor link = engine.Program(BpfPrograms.SyscallEntry).AttachRawTracepoint(BpfPrograms.SyscallEntry);
        // The last result is the exit program's (1: every event passed on).
        (long io, ulong[] ioBounds) = vm.TimedWithBounds(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), null, s_none, count: 200);
        (long hlt, ulong[] hltBounds) = vm.TimedWithBounds(exit, UserspaceExit(5), TimeSpan.FromMicroseconds(200), null, s_none, count: 100);
        Assert.Equal((1, 1), (io, hlt));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(IO)"), TimeSpan.FromMicroseconds(20), ioBounds);
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(HLT)"), TimeSpan.FromMicroseconds(200), hltBounds);
        Assert.Equal("ioctl(KVM_RUN)", latencies.Entry);
    }

    /// <summary>Exits handled in the kernel (kvm_exit, read from its record) end at kvm_entry, under their reason.</summary>
    [Fact]
    public void ExitsHandledInTheKernelEndAtTheNextVmEntry()
    {
        using var engine = new SyntheticEngine(ExitReasonSet.Vmx, latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "kernel");
        BpfProgram exit = engine.Program("kvm_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        (long result, ulong[] bounds) = vm.TimedWithBounds(exit, engine.Record("kvm_exit", "exit_reason", 12), TimeSpan.FromMicroseconds(50), entry, s_none, count: 100);
        Assert.Equal(0, result);
        engine.Counters.Capture();
        AssertBucket(Histogram(engine.Counters.Latencies!, vm.Pid, "kvm_exit(HLT)"), TimeSpan.FromMicroseconds(50), bounds);
    }

    /// <summary>
    /// A thread that exits in the middle of an exit (SHUTDOWN, a VM killed) takes its stamp with it:
    /// a later thread given the same id that enters KVM_RUN ends no exit it did not make.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AThreadThatExitsTakesItsStampWithIt(bool perProcess)
    {
        using EventProcess vm = EventProcess.Start();
        using var engine = new SyntheticEngine(scope: perProcess ? BpfScope.EveryProcess : BpfScope.Host, latencyEntry: BpfPrograms.KvmEntry);
        engine.MakeVm(vm.Pid, "ended");
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        int tid = vm.Spawn();
        vm.RunOn(tid, exit, UserspaceExit(8));
        vm.RunOn(tid, engine.ExitProgram, s_none);
        vm.RunOn(tid, entry, s_none);
        // Its own exits, stamped and ended, are timed as before.
        vm.RunOn(tid, exit, UserspaceExit(2));
        vm.RunOn(tid, entry, s_none);
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        int shutdown = latencies.Fields.IndexOf("kvm_userspace_exit(SHUTDOWN)");
        int io = latencies.Fields.IndexOf("kvm_userspace_exit(IO)");
        Assert.False(latencies.Host.TryGetValue(shutdown, out LatencyHistogram? ended) && ended.Count > 0, $"{ended?.Count} SHUTDOWN exits timed");
        Assert.Equal(1UL, latencies.Host[io].Count);
    }

    /// <summary>
    /// Where kvm_exit stamps too, an exit the kernel hands to user space is timed in two parts: in
    /// the kernel under its kvm_exit reason, until kvm_userspace_exit, and in user space from there
    /// to the next entry. Neither overwrites the other.
    /// </summary>
    [Fact]
    public void AnExitHandedToUserSpaceIsTimedInBothParts()
    {
        using var engine = new SyntheticEngine(ExitReasonSet.Vmx, latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "both");
        BpfProgram kernel = engine.Program("kvm_exit"), user = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        byte[] ioInstruction = engine.Record("kvm_exit", "exit_reason", 30);
        // kvm_exit(IO_INSTRUCTION), 50 µs, then kvm_userspace_exit(IO) ends that part and stamps its own.
        (long result, ulong[] bounds) = vm.TimedWithBounds(kernel, ioInstruction, TimeSpan.FromMicroseconds(50), user, UserspaceExit(2), count: 40);
        Assert.Equal(1, result);
        // The last one's part in user space ends at the next entry; a kvm_userspace_exit without a
        // kvm_exit before it (a KVM_RUN that never entered the guest) ends nothing in the kernel.
        Assert.Equal(0, vm.Run(entry, s_none));
        vm.Run(user, UserspaceExit(2));
        vm.Run(entry, s_none);
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_exit(IO_INSTRUCTION)"), TimeSpan.FromMicroseconds(50), bounds);
        Assert.Equal(2UL, Histogram(latencies, vm.Pid, "kvm_userspace_exit(IO)").Count);
        Assert.Equal(0, latencies.Lost);
    }

    /// <summary>
    /// A full table of buckets drops no exit in silence: an exit whose bucket finds no room is
    /// counted as lost (the exporter's kvm_stat_exit_latency_lost_total), and the buckets already
    /// in the table go on counting.
    /// </summary>
    [Fact]
    public void ExitsWhoseBucketFindsNoRoomAreCountedAsLost()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry, buckets: 2);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "full");
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        // Three reasons, so at least three buckets: room for two.
        foreach ((uint reason, int count) in new[] { (2u, 5), (6u, 4), (5u, 3) })
            Assert.Equal(0, vm.Timed(exit, UserspaceExit(reason), TimeSpan.FromMicroseconds(20), entry, s_none, count));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        ulong timed = latencies.Host.Values.Aggregate(0UL, (sum, h) => sum + h.Count);
        Assert.True(latencies.Lost >= 3, $"{latencies.Lost} lost");
        Assert.Equal(12UL, timed + (ulong)latencies.Lost);
        Assert.Equal(2, latencies.Host.Values.Sum(h => h.Buckets.Count(b => b > 0)));
        // Said on stderr (once until it doubles), and a field of -1 and -l.
        string said = Assert.Single(engine.Warnings, w => w.Contains("could not be timed", StringComparison.Ordinal));
        Assert.StartsWith($"--latency: {latencies.Lost} exits ({latencies.Lost} new) could not be timed: the table of latency buckets has room for 2 and is full", said);
        engine.Counters.Capture();
        Assert.Single(engine.Warnings, w => w.Contains("could not be timed", StringComparison.Ordinal));
        var fields = new LatencySource(latencies, 0);
        long[] values = new long[fields.Fields.Count];
        fields.Read(values);
        Assert.Equal(latencies.Lost, values[fields.Fields.ToList().FindIndex(f => f.Name == LatencySource.LostField)]);
    }

    /// <summary>
    /// With -p/-g the programs stamp the watched process's exits alone, in its one row: they are
    /// its latencies (the fields of -1/-l, the screen's view), and another process's are not.
    /// </summary>
    [Fact]
    public void AWatchedProcessHasItsOwnLatencies()
    {
        using EventProcess vm = EventProcess.Start(), other = EventProcess.Start();
        using var engine = new SyntheticEngine(scope: BpfScope.OneProcess(vm.Pid), latencyEntry: BpfPrograms.KvmEntry);
        engine.MakeVm(vm.Pid, "watched");
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        var source = new LatencySource(engine.Counters.Latencies!, vm.Pid);
        long[] values = new long[source.Fields.Count];
        source.Read(values);
        (long io, ulong[] bounds) = vm.TimedWithBounds(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 50);
        Assert.Equal(0, io);
        Assert.Equal(0, other.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 7));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(IO)"), TimeSpan.FromMicroseconds(20), bounds);
        Assert.Equal([vm.Pid], latencies.Vms.Keys);
        source.Read(values);
        Assert.Equal(50, values[source.Fields.ToList().FindIndex(f => f.Name == "user_exit_timed(IO)")]);
        Assert.True(values[source.Fields.ToList().FindIndex(f => f.Name == "user_exit_p50_us(IO)")] >= 16);
        // The percentiles are of the capture's last interval: the next one holds only its own exits.
        Assert.Equal(0, vm.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(300), entry, s_none, count: 5));
        engine.Counters.Capture();
        source.Read(values);
        Assert.Equal(55, values[source.Fields.ToList().FindIndex(f => f.Name == "user_exit_timed(IO)")]);
        Assert.True(values[source.Fields.ToList().FindIndex(f => f.Name == "user_exit_p50_us(IO)")] >= 256);
        // Read is on the refresh loop's path: it allocates nothing.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            source.Read(values);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>
    /// The host's percentiles (every process's, without -p/-g) are of the capture's last interval
    /// too: a second interval of slow exits is not mixed with the first's fast ones, whoever reads.
    /// </summary>
    [Fact]
    public void TheHostsPercentilesAreOfTheLastInterval()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "host");
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        LatencySource first = new(engine.Counters.Latencies!, 0), second = new(engine.Counters.Latencies!, 0);
        int timed = first.Fields.ToList().FindIndex(f => f.Name == "user_exit_timed(IO)");
        int p50 = first.Fields.ToList().FindIndex(f => f.Name == "user_exit_p50_us(IO)");
        long[] values = new long[first.Fields.Count];
        Assert.Equal(0, vm.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 50));
        engine.Counters.Capture();
        first.Read(values);
        Assert.InRange(values[p50], 16, 255);
        Assert.Equal(0, vm.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(300), entry, s_none, count: 5));
        engine.Counters.Capture();
        // A source that never read before sees the same interval as one that did.
        foreach (LatencySource source in new[] { first, second })
        {
            source.Read(values);
            Assert.Equal(55, values[timed]);
            Assert.True(values[p50] >= 256, $"{values[p50]} µs");
        }
    }

    /// <summary>
    /// A slot given back takes its buckets out of the kernel's table (the host keeps them): a
    /// process that takes the slot later starts from zero. Exits are summed into the host's.
    /// </summary>
    [Fact]
    public void AProcessThatGivesItsSlotBackLeavesNoBucketsToTheNext()
    {
        using var engine = new SyntheticEngine(capacity: 1, latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess first = EventProcess.Start();
        engine.MakeOther(first.Pid);
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        Assert.Equal(0, first.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 10));
        engine.Counters.Capture();
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.SlotsInUse);
        using EventProcess second = EventProcess.Start();
        engine.MakeVm(second.Pid, "second");
        Assert.Equal(0, second.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 3));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        Assert.Equal(3UL, Histogram(latencies, second.Pid, "kvm_userspace_exit(IO)").Count);
        int io = latencies.Fields.IndexOf("kvm_userspace_exit(IO)");
        Assert.Equal(13UL, latencies.Host[io].Count);
        // The host keeps the time of the slot given back: 13 exits of at least 20 µs.
        Assert.True(latencies.Host[io].Nanoseconds >= 13 * 20_000, $"{latencies.Host[io].Nanoseconds} ns");
    }

    [Theory]
    [InlineData(new ulong[] { 0, 0, 0, 0, 10 }, 240, 0.5, 24)]  // bucket 4 holds [16, 32) ns: exits of 24 ns on average, its middle
    [InlineData(new ulong[] { 0, 0, 0, 0, 10 }, 300, 0.5, 30)]  // of 30 ns: spread over [28, 32)
    [InlineData(new ulong[] { 0, 0, 0, 0, 10 }, 160, 0.9, 16)]  // all of 16 ns: its start
    [InlineData(new ulong[] { 10 }, 10, 0.99, 1.98)]            // bucket 0 holds 0 and 1 ns: [0, 2)
    [InlineData(new ulong[] { 0, 0, 0, 0 }, 0, 0.5, 0)]
    public void PercentilesInterpolateInTheirBucket(ulong[] counts, ulong nanoseconds, double fraction, double expected)
    {
        ulong[] buckets = new ulong[ExitLatencies.Buckets];
        counts.CopyTo(buckets, 0);
        Assert.Equal(expected, ExitLatencies.Percentile(buckets, fraction, nanoseconds), 6);
    }

    /// <summary>Every output formats the same histograms: p99 fields, JSON's buckets, the exporter's histograms (valid for promtool).</summary>
    [Fact]
    public void EveryOutputShowsTheLatencies()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "shown");
        ExitLatencies latencies = engine.Counters.Latencies!;
        Sampler sampler = Samplers.Of(TimeProvider.System, [engine.Engine.OpenHost(0), new LatencySource(latencies, 0)], engine.Engine.OpenPerVm(),
            nameOf: _ => "shown", capture: engine.Counters, latencies: latencies);
        sampler.Sample();
        Assert.Equal(0, vm.Timed(engine.Program("kvm_userspace_exit"), UserspaceExit(2), TimeSpan.FromMicroseconds(100), engine.Program(BpfPrograms.KvmEntry), s_none, count: 50));
        sampler.Sample();
        // The kernel's buckets (the timing tests above check them against the clock): every output formats these.
        LatencyHistogram ioExits = latencies.Host[latencies.Fields.IndexOf("kvm_userspace_exit(IO)")];
        ulong[] kernel = ioExits.Buckets;

        // Fields: the median of IO exits in microseconds, as the buckets and their time give it (every
        // exit took at least 100 µs: the middle of their bucket, 98 µs, would be below); the p99 not below it.
        long p50 = sampler.Snapshot.Host.Totals[sampler.Snapshot.Host.Fields.IndexOf("user_exit_p50_us(IO)")];
        Assert.Equal((long)Math.Round(ExitLatencies.Percentile(kernel, 0.5, ioExits.Nanoseconds) / 1000), p50);
        Assert.True(p50 >= 100, $"{p50} µs");
        Assert.True(sampler.Snapshot.Host.Totals[sampler.Snapshot.Host.Fields.IndexOf("user_exit_p99_us(IO)")] >= p50);
        Assert.Equal(50, sampler.Snapshot.Host.Totals[sampler.Snapshot.Host.Fields.IndexOf("user_exit_timed(IO)")]);
        // The time they took: 50 exits of at least 100 µs, each below its bucket's bound of 131 µs (or an interrupt's more).
        long time = sampler.Snapshot.Host.Totals[sampler.Snapshot.Host.Fields.IndexOf("user_exit_time_us(IO)")];
        Assert.InRange(time, 5000, 50 * 1000);
        Assert.Equal(time, sampler.Snapshot.Host.Totals[sampler.Snapshot.Host.Fields.IndexOf("user_exit_time_us")]);

        var text = new StringWriter();
        using (OutputSink sink = OutputSink.Stdout(text))
            new JsonRenderer(sink, skipZeroRecords: false).Render(sampler.Snapshot);
        using JsonDocument json = JsonDocument.Parse(text.ToString());
        JsonElement guest = Assert.Single(json.RootElement.GetProperty("guests").EnumerateArray(), g => g.GetProperty("pid").GetInt32() == vm.Pid);
        JsonElement io = guest.GetProperty("exit_latency").GetProperty("kvm_userspace_exit(IO)");
        Assert.Equal(50, io.GetProperty("exits").GetInt64());
        JsonElement last = io.GetProperty("buckets_ns").EnumerateArray().Last();
        Assert.Equal(50, last[1].GetInt64());
        Assert.Equal(time, io.GetProperty("time_ns").GetInt64() / 1000);
        Assert.Equal("kvm_entry", json.RootElement.GetProperty("exit_latency").GetProperty("entry").GetString());
        // A record with latencies is on the refresh loop's path (-L --json --latency): it allocates nothing.
        string log = Path.Join(Path.GetTempPath(), $"kvm_stat-latency-{Environment.ProcessId}.json");
        try
        {
            using OutputSink file = OutputSink.AppendTo(log);
            var renderer = new JsonRenderer(file, skipZeroRecords: false);
            Assert.Equal(0, Infrastructure.Allocations.InSteadyState(() => renderer.Render(sampler.Snapshot)));
        }
        finally
        {
            File.Delete(log);
        }

        List<MetricFamily> families = new MetricsFormatter(FieldFilter.Default, _ => { }).Format(sampler.Snapshot);
        string metrics = new MetricsWriter(openMetrics: false).Write(families);
        // Latency fields are histograms there, never event counters too.
        Assert.DoesNotContain("user_exit_", metrics);
        string series = $"kvm_guest_exit_handling_seconds_bucket{{guest=\"shown\",pid=\"{vm.Pid}\",event=\"kvm_userspace_exit\",reason=\"IO\",le=\"+Inf\"}} 50\n";
        Assert.Contains(series, metrics);
        Assert.Contains($"kvm_guest_exit_handling_seconds_count{{guest=\"shown\",pid=\"{vm.Pid}\",event=\"kvm_userspace_exit\",reason=\"IO\"}} 50\n", metrics);
        string sum = Assert.Single(metrics.Split('\n'), l => l.StartsWith("kvm_exit_handling_seconds_sum{event=\"kvm_userspace_exit\",reason=\"IO\"} ", StringComparison.Ordinal));
        // The exact nanoseconds in seconds; the field shows whole microseconds of them.
        Assert.InRange(double.Parse(sum.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), time / 1e6, (time + 1) / 1e6);
        // 100 µs: none up to 2^16 ns; up to 2^17 ns as many as the kernel's buckets hold.
        long Bucket(string le) => long.Parse(Assert.Single(metrics.Split('\n'),
            l => l.StartsWith($"kvm_exit_handling_seconds_bucket{{event=\"kvm_userspace_exit\",reason=\"IO\",le=\"{le}\"}} ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, Bucket("6.5536e-05"));
        Assert.Equal((long)(kernel[16] + kernel[15]), Bucket("0.000131072"));
        if (File.Exists("/usr/bin/promtool"))
        {
            (int code, string output, string error) = ChildProcess.Run("/usr/bin/promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), input: metrics);
            Assert.True(code == 0, output + error);
        }
    }
}
