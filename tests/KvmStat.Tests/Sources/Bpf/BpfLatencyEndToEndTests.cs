using System.Globalization;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// Exit latencies against real guests, with an oracle: the C test guest's VMM busy-waits a known
/// time on every exit to its port before it enters the guest again.
/// </summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class BpfLatencyEndToEndTests
{
    private static readonly HostPaths s_host = new();
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(1);

    /// <summary>The C guest, one vCPU, running its program once (<paramref name="options"/>: which, and the VMM's waits); it stays after its run.</summary>
    private static (ChildProcess Guest, int Pid) StartGuest(string name, params string[] options)
    {
        ChildProcess guest = ChildProcess.Start(ChurnGuest.Path, ["-name", name, "--vcpus", "1", .. options, "--stay"]);
        try
        {
            string ready = guest.Output.WaitForLine(l => l.StartsWith("ready ", StringComparison.Ordinal), s_timeout, "the guest ready");
            return (guest, int.Parse(ready["ready ".Length..], CultureInfo.InvariantCulture));
        }
        catch
        {
            // A guest that never got ready is ended here: nothing else holds it.
            guest.Dispose();
            throw;
        }
    }

    private static void RunGuest(ChildProcess guest)
    {
        guest.Signal(ChildProcess.SIGUSR1);
        guest.Output.WaitForLine(l => l.StartsWith("done ", StringComparison.Ordinal), s_timeout, "the guest's run");
    }

    /// <summary>
    /// One guest whose VMM spends 20 µs on each exit to one port and 200 µs on each to another
    /// (500 rounds of a write to each): at least 95 % of each port's exits are in the log2 bucket
    /// that holds its time (no exit can be shorter than its wait, so the 20 µs bucket holds that
    /// port's alone), every exit timed (none lost), counts exact, and its time together at least
    /// the time waited; its last exit, its halt, is counted and never timed, since the VMM never
    /// enters that guest again. A second guest does nothing but halt, 300 times, its VMM waiting
    /// 50 µs on each: its halts are counted and timed the same way, and its one port write (the
    /// run's end) is counted, not timed.
    /// </summary>
    [Fact]
    public void ExitsOfAKnownHandlingTimeFallInTheirBucket()
    {
        Kvm.Require();
        using var descriptors = new CounterDescriptors();
        Tracefs tracefs = Tracefs.Locate(s_host);
        ExitReasonSet reasons = ExitReasonSetDetector.Detect(s_host);
        List<TracepointField> fields = KvmStat.Stats.FieldFilter.Create("kvm_(pio|userspace_exit)").Select(
            TracepointCatalog.Discover(tracefs, reasons), f => f.Name, f => f.Parent);
        // What ends an exit, as the tool chooses it: kvm_entry where VMX, SVM or arm64 trace it.
        string entry = reasons == ExitReasonSet.Unknown ? BpfPrograms.SyscallEntry : BpfPrograms.KvmEntry;
        using var counters = new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null, warn: _ => { }, latencyEntry: entry);
        const int Rounds = 500, Halts = 300;
        (ChildProcess ports, int portsPid) = StartGuest($"lat-ports-{Environment.ProcessId}",
            "--two-ports", "--outs", $"{Rounds}", "--wait", "0x3f8:20", "--wait", "0x2f8:200");
        using (ports)
        {
            (ChildProcess halting, int haltingPid) = StartGuest($"lat-halts-{Environment.ProcessId}", "--halts", "--outs", $"{Halts}", "--wait", "hlt:50");
            using (halting)
            {
                RunGuest(ports);
                RunGuest(halting);
                counters.Capture();
                ExitLatencies latencies = counters.Latencies!;
                int io = latencies.Fields.IndexOf("kvm_userspace_exit(IO)"), hlt = latencies.Fields.IndexOf("kvm_userspace_exit(HLT)");

                Assert.Equal(2 * Rounds, Field(counters, counters.Vms[portsPid].Totals, "kvm_pio"));
                Assert.Equal(2 * Rounds, Field(counters, counters.Vms[portsPid].Totals, "kvm_userspace_exit(IO)"));
                Assert.Equal(1, Field(counters, counters.Vms[portsPid].Totals, "kvm_userspace_exit(HLT)"));
                AssertTimed(latencies.Vms[portsPid][io], 2 * Rounds, (20, Rounds), (200, Rounds));
                Assert.False(latencies.Vms[portsPid].ContainsKey(hlt));

                Assert.Equal(1, Field(counters, counters.Vms[haltingPid].Totals, "kvm_pio"));
                Assert.Equal(1, Field(counters, counters.Vms[haltingPid].Totals, "kvm_userspace_exit(IO)"));
                Assert.Equal(Halts, Field(counters, counters.Vms[haltingPid].Totals, "kvm_userspace_exit(HLT)"));
                AssertTimed(latencies.Vms[haltingPid][hlt], Halts, (50, Halts));
                Assert.False(latencies.Vms[haltingPid].ContainsKey(io));
                Assert.Equal(0, latencies.Lost);
            }
        }
    }

    /// <summary>
    /// <paramref name="exits"/> exits timed in <paramref name="histogram"/>; of each (µs waited, exits)
    /// of <paramref name="waits"/> at least 95 % in the bucket that holds that time; none shorter
    /// than the shortest wait; and together at least the time waited.
    /// </summary>
    private static void AssertTimed(LatencyHistogram histogram, int exits, params (int Us, int Exits)[] waits)
    {
        ulong[] buckets = histogram.Buckets;
        string shown = string.Join(",", buckets.Select((c, i) => (c, i)).Where(p => p.c > 0).Select(p => $"{p.i}:{p.c}"));
        Assert.True((ulong)exits == histogram.Count, $"{histogram.Count} of {exits} exits timed ({shown})");
        foreach ((int us, int count) in waits)
        {
            int bucket = (int)Math.Floor(Math.Log2(us * 1000.0));
            Assert.True(buckets[bucket] >= count * 0.95, $"{us} µs: {buckets[bucket]} of {count} exits in bucket {bucket} ({shown})");
        }
        int shortest = (int)Math.Floor(Math.Log2(waits.Min(w => w.Us) * 1000.0));
        Assert.True(buckets.Take(shortest).All(c => c == 0), $"exits shorter than the VMM waited ({shown})");
        ulong waited = (ulong)waits.Sum(w => (long)w.Us * w.Exits * 1000);
        Assert.True(histogram.Nanoseconds >= waited, $"{histogram.Nanoseconds} ns, {waited} ns waited");
    }

    private static long Field(BpfCounters counters, long[] totals, string name) =>
        totals[counters.Fields.ToList().FindIndex(f => f.Name == name)];
}
