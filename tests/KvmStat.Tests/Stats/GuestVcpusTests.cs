using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Stats;

public class GuestVcpusTests
{
    private static VcpuReading Thread(int tid, int index, long count, ulong userspaceExits = 0)
    {
        LatencyHistogram[] latency = [new(), new()];
        latency[0].Buckets[10] = userspaceExits;
        latency[0].Nanoseconds = userspaceExits * 1000;
        return new VcpuReading(tid, index, index >= 0 ? $"vcpu{index}" : $"tid {tid}", [count], latency);
    }

    /// <summary>
    /// A vCPU's exit latencies go on over a new thread as its counts do: every output gets one
    /// histogram per vCPU that never goes backwards while the VM runs (a Prometheus histogram).
    /// </summary>
    [Fact]
    public void AVcpusLatenciesGoOnOverItsNewThread()
    {
        var vcpus = new GuestVcpus();
        vcpus.Sample([Thread(100, 0, 5, userspaceExits: 5)]);
        vcpus.Sample([Thread(100, 0, 6, userspaceExits: 6), Thread(101, 0, 2, userspaceExits: 2)]);
        VcpuStat vcpu = Assert.Single(vcpus.Rows);
        Assert.Equal((101, 8L, 3L, 8UL, 8000UL), (vcpu.Tid, vcpu.Totals[0], vcpu.Deltas[0], vcpu.Latency![0].Count, vcpu.Latency[0].Nanoseconds));
        vcpus.Sample([Thread(101, 0, 3, userspaceExits: 3)]);
        Assert.Equal((9L, 1L, 9UL), (vcpu.Totals[0], vcpu.Deltas[0], vcpu.Latency[0].Count));
        vcpus.Sample([]);
        vcpu = Assert.Single(vcpus.Rows);
        Assert.Equal((0, "vcpu0", 9L, 0L, 9UL), (vcpu.Tid, vcpu.Label, vcpu.Totals[0], vcpu.Deltas[0], vcpu.Latency![0].Count));
    }

    /// <summary>A thread of no known vCPU is a row of its own while it runs, and leaves with it.</summary>
    [Fact]
    public void AThreadOfNoKnownVcpuIsItsOwnRowWhileItRuns()
    {
        var vcpus = new GuestVcpus();
        vcpus.Sample([Thread(100, 0, 1), Thread(300, -1, 4), Thread(301, -1, 7)]);
        Assert.Equal(["vcpu0", "tid 300", "tid 301"], vcpus.Rows.Select(r => r.Label));
        Assert.Equal([1L, 4, 7], vcpus.Rows.Select(r => r.Deltas[0]));
        vcpus.Sample([Thread(100, 0, 1), Thread(301, -1, 8)]);
        Assert.Equal(["vcpu0", "tid 301"], vcpus.Rows.Select(r => r.Label));
        Assert.Equal([0L, 1], vcpus.Rows.Select(r => r.Deltas[0]));
    }

    /// <summary>A tid twice in one reading (a thread's row retaken while its old one is listed) is two entries: each counts once.</summary>
    [Fact]
    public void ATidTwiceInOneReadingCountsEachEntryOnce()
    {
        var vcpus = new GuestVcpus();
        vcpus.Sample([Thread(100, 0, 5)]);
        vcpus.Sample([Thread(100, 0, 6), Thread(100, 0, 2)]);
        VcpuStat vcpu = Assert.Single(vcpus.Rows);
        Assert.Equal((8L, 3L), (vcpu.Totals[0], vcpu.Deltas[0]));
    }

    /// <summary>Threads of one vCPU apart in a reading are still one vCPU, named by the last of them: never two rows (two JSON keys) of one vCPU.</summary>
    [Fact]
    public void ThreadsOfOneVcpuApartInAReadingAreOneRow()
    {
        var vcpus = new GuestVcpus();
        vcpus.Sample([Thread(100, 0, 1), Thread(200, 1, 2), Thread(101, 0, 3)]);
        Assert.Equal([("vcpu0", 101, 4L), ("vcpu1", 200, 2L)], vcpus.Rows.Select(r => (r.Label, r.Tid, r.Totals[0])));
    }

    /// <summary>Summing a VM's vCPUs at each sample allocates nothing once its threads stay (the refresh loop).</summary>
    [Fact]
    public void SummingAllocatesNothingInSteadyState()
    {
        var vcpus = new GuestVcpus();
        VcpuReading gone = Thread(99, 2, 4, userspaceExits: 1);
        vcpus.Sample([gone, Thread(300, -1, 1)]);
        List<VcpuReading> readings = [Thread(100, 0, 1, userspaceExits: 1), Thread(101, 1, 2), Thread(102, 1, 3), Thread(300, -1, 1)];
        Assert.Equal(0, Allocations.InSteadyState(() => vcpus.Sample(readings)));
        Assert.Equal(["vcpu0", "vcpu1", "tid 300", "vcpu2"], vcpus.Rows.Select(r => r.Label));
        Assert.Equal([1L, 5, 1, 4], vcpus.Rows.Select(r => r.Totals[0]));
    }
}
