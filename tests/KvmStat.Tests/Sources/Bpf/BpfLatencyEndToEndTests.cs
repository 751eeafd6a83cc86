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

    /// <summary>The C guest, one vCPU, <paramref name="outs"/> port writes each waited <paramref name="waitUs"/> µs by its VMM; it stays after its run.</summary>
    private static (ChildProcess Guest, int Pid) StartGuest(string name, int outs, int waitUs)
    {
        ChildProcess guest = ChildProcess.Start(ChurnGuest.Path,
            ["-name", name, "--vcpus", "1", "--outs", $"{outs}", "--wait", $"0x3f8:{waitUs}", "--stay"]);
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
    /// Two guests whose VMMs spend 20 µs and 200 µs on each port exit: at least 95 % of each one's
    /// port exits are in the log2 bucket that holds its time, every exit timed (none lost), and its
    /// time together at least the time waited. Each guest's last exit, its halt, is counted; it is
    /// never timed, since the VMM never enters that guest again.
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
        (ChildProcess fast, int fastPid) = StartGuest($"lat20-{Environment.ProcessId}", outs: 2000, waitUs: 20);
        using (fast)
        {
            (ChildProcess slow, int slowPid) = StartGuest($"lat200-{Environment.ProcessId}", outs: 500, waitUs: 200);
            using (slow)
            {
                RunGuest(fast);
                RunGuest(slow);
                counters.Capture();
                ExitLatencies latencies = counters.Latencies!;
                int io = latencies.Fields.IndexOf("kvm_userspace_exit(IO)");
                foreach ((int pid, int outs, int waitUs) in new[] { (fastPid, 2000, 20), (slowPid, 500, 200) })
                {
                    Assert.Equal(outs, Field(counters, counters.Vms[pid].Totals, "kvm_pio"));
                    Assert.Equal(outs, Field(counters, counters.Vms[pid].Totals, "kvm_userspace_exit(IO)"));
                    Assert.Equal(1, Field(counters, counters.Vms[pid].Totals, "kvm_userspace_exit(HLT)"));
                    LatencyHistogram histogram = latencies.Vms[pid][io];
                    ulong[] buckets = histogram.Buckets;
                    string shown = string.Join(",", buckets.Select((c, i) => (c, i)).Where(p => p.c > 0).Select(p => $"{p.i}:{p.c}"));
                    Assert.True((ulong)outs == histogram.Count, $"{waitUs} µs: {histogram.Count} of {outs} exits timed ({shown})");
                    int bucket = (int)Math.Floor(Math.Log2(waitUs * 1000.0));
                    Assert.True(buckets[bucket] >= outs * 0.95, $"{waitUs} µs: {buckets[bucket]} of {outs} exits in bucket {bucket} ({shown})");
                    Assert.True(buckets.Take(bucket).All(c => c == 0), $"{waitUs} µs: exits shorter than the VMM waited ({shown})");
                    Assert.True(histogram.Nanoseconds >= (ulong)outs * (ulong)waitUs * 1000, $"{histogram.Nanoseconds} ns");
                    Assert.False(latencies.Vms[pid].ContainsKey(latencies.Fields.IndexOf("kvm_userspace_exit(HLT)")));
                }
                Assert.Equal(0, latencies.Lost);
            }
        }
    }

    private static long Field(BpfCounters counters, long[] totals, string name) =>
        totals[counters.Fields.ToList().FindIndex(f => f.Name == name)];
}
