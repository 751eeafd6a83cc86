using System.Runtime.InteropServices;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources;

/// <summary>
/// The end of a run's perf descriptors, in-process: the same fork as the published binary makes
/// (the tests run under the JIT), a child that holds exactly those descriptors, and nothing else,
/// and that lets them go when released.
/// </summary>
public partial class CounterDescriptorsTests
{
    [LibraryImport("libc.so.6", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, out int status, int options);

    private static readonly HostPaths s_host = new();

    private static string[] Links(int pid) =>
        [.. Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "")];

    [Fact]
    public void TheHandOffChildHoldsTheRunsCountersAndNothingElseUntilReleased()
    {
        Tracefs tracefs = Tracefs.Locate(s_host);
        var descriptors = new CounterDescriptors();
        List<TracepointField> fields = [.. new[] { "kvm_pio", "kvm_mmio", "kvm_userspace_exit" }.Select(n => new TracepointField(n, n, null, null))];
        var set = new TracepointCounterSet(tracefs, fields, descriptors, verbose: null);
        IStatsSource source = TracepointSource.ForAllCpus(set, OnlineCpus.Read(s_host));
        int open = descriptors.OpenCount;
        Assert.Equal(3 * OnlineCpus.Read(s_host).Count, open);

        descriptors.Dispose();
        HandOff child = Assert.IsType<HandOff>(descriptors.HandedOffTo);
        try
        {
            // The child closes what it does not keep right after the fork: wait until it has.
            string[] held = [];
            Poll.Until(() => (held = Links(child.Pid)).Length <= open + 1, TimeSpan.FromSeconds(10), "the child's closing what it does not keep");
            Assert.Equal(open, held.Count(l => l == "anon_inode:[perf_event]"));
            // Only the counters and the pipe it waits on: no standard streams, nothing of the tests.
            Assert.Equal(open + 1, held.Length);
            Assert.Single(held, l => l.StartsWith("pipe:", StringComparison.Ordinal));
            Assert.Equal(0, descriptors.OpenCount);
        }
        finally
        {
            child.Release();
            Assert.True(ProcessExit.WaitFor(child.Pid, TimeSpan.FromSeconds(30)), "the hand-off child did not end once released");
            _ = WaitPid(child.Pid, out _, 0);
        }
        Assert.False(Directory.Exists($"/proc/{child.Pid}"));
        GC.KeepAlive(source);
    }

    /// <summary>
    /// A CPU whose counters cannot open (here one that does not exist) fails the open, and the
    /// counters already opened on the other CPUs stop with it: none stays open, counting.
    /// </summary>
    [Fact]
    public void ACpuThatFailsToOpenLeavesNoCountersOfTheOthersOpen()
    {
        Tracefs tracefs = Tracefs.Locate(s_host);
        using var descriptors = new CounterDescriptors();
        List<TracepointField> fields = [.. new[] { "kvm_pio", "kvm_mmio" }.Select(n => new TracepointField(n, n, null, null))];
        var set = new TracepointCounterSet(tracefs, fields, descriptors, verbose: null);
        var e = Assert.Throws<EnvironmentException>(() => TracepointSource.ForAllCpus(set, [.. OnlineCpus.Read(s_host), 4095]));
        Assert.StartsWith("the kernel refused to count tracepoint kvm_pio", e.Message);
        // Released descriptors close in the background: await it.
        Poll.Until(() => descriptors.OpenCount == 0, TimeSpan.FromSeconds(10), "the background close of the counters");
    }
}
