using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;
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

    private static ulong[] Histogram(ExitLatencies latencies, int pid, string field)
    {
        int index = latencies.Fields.ToList().FindIndex(f => f.Name == field);
        return latencies.Vms[pid][index];
    }

    /// <summary>At least 95 % of the exits in the bucket that holds the time waited, and every exit counted.</summary>
    private static void AssertBucket(ulong[] buckets, TimeSpan waited, int exits)
    {
        int bucket = BucketOf(waited + TimeSpan.FromMicroseconds(3));
        Assert.Equal((ulong)exits, (ulong)buckets.Sum(b => (long)b));
        Assert.True(buckets[bucket] >= exits * 0.95, $"{buckets[bucket]} of {exits} exits in bucket {bucket} (waited {waited.TotalMicroseconds} µs): {string.Join(",", buckets.Select((c, i) => (c, i)).Where(p => p.c > 0).Select(p => $"{p.i}:{p.c}"))}");
    }

    [Fact]
    public void ExitsHandledInUserSpaceEndAtTheNextVmEntry()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "timed");
        BpfProgram exit = engine.Program("kvm_userspace_exit"), entry = engine.Program(BpfPrograms.KvmEntry);
        Assert.Equal(0, vm.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 200));
        Assert.Equal(0, vm.Timed(exit, UserspaceExit(6), TimeSpan.FromMicroseconds(200), entry, s_none, count: 100));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(IO)"), TimeSpan.FromMicroseconds(20), 200);
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(MMIO)"), TimeSpan.FromMicroseconds(200), 100);
        Assert.Equal(200, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_userspace_exit(IO)"));
        Assert.Equal("kvm_entry", latencies.Entry);
        Assert.Equal(0, latencies.Lost);
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
        Assert.Equal(1, vm.Timed(exit, UserspaceExit(2), TimeSpan.FromMicroseconds(20), null, s_none, count: 200));
        Assert.Equal(1, vm.Timed(exit, UserspaceExit(5), TimeSpan.FromMicroseconds(200), null, s_none, count: 100));
        engine.Counters.Capture();
        ExitLatencies latencies = engine.Counters.Latencies!;
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(IO)"), TimeSpan.FromMicroseconds(20), 200);
        AssertBucket(Histogram(latencies, vm.Pid, "kvm_userspace_exit(HLT)"), TimeSpan.FromMicroseconds(200), 100);
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
        Assert.Equal(0, vm.Timed(exit, engine.Record("kvm_exit", "exit_reason", 12), TimeSpan.FromMicroseconds(50), entry, s_none, count: 100));
        engine.Counters.Capture();
        AssertBucket(Histogram(engine.Counters.Latencies!, vm.Pid, "kvm_exit(HLT)"), TimeSpan.FromMicroseconds(50), 100);
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
        Assert.Equal(3UL, (ulong)Histogram(latencies, second.Pid, "kvm_userspace_exit(IO)").Sum(b => (long)b));
        int io = latencies.Fields.ToList().FindIndex(f => f.Name == "kvm_userspace_exit(IO)");
        Assert.Equal(13UL, (ulong)latencies.Host[io].Sum(b => (long)b));
    }

    [Theory]
    [InlineData(new ulong[] { 0, 0, 0, 0, 10 }, 0.5, 24)]     // bucket 4 holds [16, 32) ns: its middle
    [InlineData(new ulong[] { 10 }, 0.99, 1.98)]              // bucket 0 holds 0 and 1 ns: [0, 2)
    [InlineData(new ulong[] { 0, 0, 0, 0 }, 0.5, 0)]
    public void PercentilesInterpolateInTheirBucket(ulong[] counts, double fraction, double expected)
    {
        ulong[] buckets = new ulong[ExitLatencies.Buckets];
        counts.CopyTo(buckets, 0);
        Assert.Equal(expected, ExitLatencies.Percentile(buckets, fraction), 6);
    }
}
