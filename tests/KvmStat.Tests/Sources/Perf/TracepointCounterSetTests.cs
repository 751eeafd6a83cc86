using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Perf;

/// <summary>
/// With real perf counters and no KVM: the fixture's "kvm_pio" is the id of
/// syscalls:sys_enter_getppid, so this thread raises it by calling getppid().
/// </summary>
public class TracepointCounterSetTests
{
    private static TracepointField Child(string label, string filter) =>
        new($"kvm_pio({label})", "kvm_pio", filter, "kvm_pio") { ReasonField = "common_pid", Label = label };

    /// <summary>
    /// A child whose filter this kernel's parser rejects is left out (said with --verbose), and the
    /// fields left are linked again: the child after it is still its parent's, and counts.
    /// </summary>
    [Fact]
    public void AChildWhoseFilterTheKernelRejectsIsLeftOutAndTheRestCount()
    {
        GetppidTracepoint.SkipUnlessTraced();
        using var fixture = new FixtureRoot();
        GetppidTracepoint.AddAs(fixture, "kvm_pio");
        int tid = KvmStat.Tests.TestGuest.KvmInterop.GetTid();
        using var descriptors = new CounterDescriptors();
        var said = new List<string>();
        var set = new TracepointCounterSet(Tracefs.Locate(fixture.Paths),
            [new TracepointField("kvm_pio", "kvm_pio", null, null), Child("BAD", "no_such_field == 1"), Child("MINE", $"common_pid == {tid}")],
            descriptors, said.Add);
        using TracepointSource source = TracepointSource.ForAllCpus(set, OnlineCpus.Read(new HostPaths()));

        Assert.Equal(["kvm_pio", "kvm_pio(MINE)"], source.Fields.Select(f => f.Name));
        Assert.Equal([1], set.Fields.ChildrenOf(0));
        Assert.Equal(0, set.Fields.Set.ParentOf(1));
        Assert.Contains(said, line => line.Contains("kvm_pio(BAD) left out", StringComparison.Ordinal));
        var before = new long[2];
        var after = new long[2];
        source.Read(before);
        for (int i = 0; i < 25; i++)
            GetppidTracepoint.Call();
        source.Read(after);
        Assert.Equal(25, after[1] - before[1]);
        Assert.InRange(after[0] - before[0], 25, long.MaxValue);
    }
}
