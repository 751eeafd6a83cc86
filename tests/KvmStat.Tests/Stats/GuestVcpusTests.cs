using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Stats;

/// <summary>A VM's vCPUs over its threads. A thread is its reading, one object for its life (as the BPF engine's), updated in place.</summary>
public class GuestVcpusTests
{
    private static VcpuReading Thread(int tid, int index, long count = 0) =>
        new(tid, index, index >= 0 ? $"vcpu{index}" : $"tid {tid}", [count], [new(), new()]);

    /// <summary>The thread counted <paramref name="count"/> events, as many port exits of 1 µs.</summary>
    private static VcpuReading Counted(VcpuReading thread, long count)
    {
        thread.Values[0] = count;
        thread.Latency![0].Buckets[10] = (ulong)count;
        thread.Latency[0].Nanoseconds = (ulong)count * 1000;
        return thread;
    }

    /// <summary>
    /// A vCPU's counts and exit latencies go on over a new thread: every output gets one series per
    /// vCPU that never goes backwards while the VM runs (a Prometheus counter and histogram).
    /// </summary>
    [Fact]
    public void AVcpusCountsAndLatenciesGoOnOverItsNewThread()
    {
        var vcpus = new GuestVcpus();
        VcpuReading old = Thread(100, 0), replacement = Thread(101, 0);
        vcpus.Sample([Counted(old, 5)]);
        vcpus.Sample([Counted(old, 6), Counted(replacement, 2)]);
        VcpuStat vcpu = Assert.Single(vcpus.Rows);
        Assert.Equal((101, 8L, 3L, 8UL, 8000UL), (vcpu.Tid, vcpu.Totals[0], vcpu.Deltas[0], vcpu.Latency![0].Count, vcpu.Latency[0].Nanoseconds));
        vcpus.Sample([Counted(replacement, 3)]);
        Assert.Equal((9L, 1L, 9UL), (vcpu.Totals[0], vcpu.Deltas[0], vcpu.Latency[0].Count));
        vcpus.Sample([]);
        vcpu = Assert.Single(vcpus.Rows);
        Assert.Equal((0, "vcpu0", 9L, 0L, 9UL), (vcpu.Tid, vcpu.Label, vcpu.Totals[0], vcpu.Deltas[0], vcpu.Latency![0].Count));
        vcpus.Sample([Counted(Thread(102, 0), 4)]);
        Assert.Equal((102, 13L, 4L), (vcpu.Tid, vcpus.Rows[0].Totals[0], vcpus.Rows[0].Deltas[0]));
    }

    /// <summary>A thread known by its vCPU only later goes on under it: its count before is no gain of one interval.</summary>
    [Fact]
    public void AThreadKnownByItsVcpuOnlyLaterGainsWhatItGainedSince()
    {
        var vcpus = new GuestVcpus();
        vcpus.Sample([Thread(100, -1, 5), Thread(200, 1, 1)]);
        Assert.Equal(["tid 100", "vcpu1"], vcpus.Rows.Select(r => r.Label).Order());
        vcpus.Sample([Thread(100, 2, 7), Thread(200, 1, 1)]);
        VcpuStat vcpu2 = Assert.Single(vcpus.Rows, r => r.Label == "vcpu2");
        Assert.Equal((7L, 2L), (vcpu2.Totals[0], vcpu2.Deltas[0]));
        Assert.DoesNotContain(vcpus.Rows, r => r.Label == "tid 100");
    }

    /// <summary>A thread of no known vCPU is a row of its own while it runs, and leaves with it.</summary>
    [Fact]
    public void AThreadOfNoKnownVcpuIsItsOwnRowWhileItRuns()
    {
        var vcpus = new GuestVcpus();
        VcpuReading vcpu0 = Thread(100, 0, 1), gone = Thread(300, -1, 4), stays = Thread(301, -1, 7);
        vcpus.Sample([vcpu0, gone, stays]);
        Assert.Equal(["vcpu0", "tid 300", "tid 301"], vcpus.Rows.Select(r => r.Label));
        Assert.Equal([1L, 4, 7], vcpus.Rows.Select(r => r.Deltas[0]));
        vcpus.Sample([vcpu0, Counted(stays, 8)]);
        Assert.Equal(["vcpu0", "tid 301"], vcpus.Rows.Select(r => r.Label));
        Assert.Equal([0L, 1], vcpus.Rows.Select(r => r.Deltas[0]));
    }

    /// <summary>
    /// A thread id used again while its old thread is read once more (its row given back and another
    /// taken): two threads, each counted once, the old one's counts kept when it is gone.
    /// </summary>
    [Fact]
    public void AThreadIdUsedAgainIsAnotherThread()
    {
        var vcpus = new GuestVcpus();
        VcpuReading old = Thread(100, 0), again = Thread(100, 0);
        vcpus.Sample([Counted(old, 5)]);
        vcpus.Sample([Counted(old, 6), Counted(again, 2)]);
        VcpuStat vcpu = Assert.Single(vcpus.Rows);
        Assert.Equal((8L, 3L), (vcpu.Totals[0], vcpu.Deltas[0]));
        vcpus.Sample([Counted(again, 3)]);
        Assert.Equal((9L, 1L), (vcpu.Totals[0], vcpu.Deltas[0]));
        vcpus.Sample([]);
        Assert.Equal((9L, 0L), (vcpus.Rows[0].Totals[0], vcpus.Rows[0].Deltas[0]));
    }

    /// <summary>Threads of one vCPU apart in a reading are still one vCPU, named by the last of them: never two rows (two JSON keys) of one vCPU.</summary>
    [Fact]
    public void ThreadsOfOneVcpuApartInAReadingAreOneRow()
    {
        var vcpus = new GuestVcpus();
        vcpus.Sample([Thread(100, 0, 1), Thread(200, 1, 2), Thread(101, 0, 3)]);
        Assert.Equal([("vcpu0", 101, 4L), ("vcpu1", 200, 2L)], vcpus.Rows.Select(r => (r.Label, r.Tid, r.Totals[0])));
        // One thread listed twice is still one thread: counted once.
        VcpuReading twice = Thread(300, 2, 5);
        vcpus.Sample([twice, twice]);
        Assert.Equal([("vcpu2", 5L, 5L)], vcpus.Rows.Where(r => r.Index == 2).Select(r => (r.Label, r.Totals[0], r.Deltas[0])));
    }

    /// <summary>
    /// The budget holds only vCPUs whose threads are all gone: a vCPU whose thread was replaced takes
    /// none and goes on whole with none left; one whose threads all exit takes room, gives it back
    /// when it runs a thread again, and with no room left its gone threads' counts are lost.
    /// </summary>
    [Fact]
    public void OnlyVcpusWithoutAThreadTakeTheBudget()
    {
        var budget = new GoneVcpuBudget(1) { Events = [0] };
        var vcpus = new GuestVcpus(budget);
        VcpuReading first = Thread(100, 0, 5), second = Thread(101, 0, 1), other = Thread(200, 1, 7);
        vcpus.Sample([first, other]);
        vcpus.Sample([first, second, other]);
        vcpus.Sample([Counted(second, 2), other]);
        Assert.Equal((1, 7L), (budget.Free, vcpus.Rows[0].Totals[0]));
        vcpus.Sample([second]);
        Assert.Equal((0, 7L), (budget.Free, vcpus.Rows[1].Totals[0]));
        vcpus.Sample([]);
        // vCPU 0's threads are gone too, and the room is vCPU 1's: vCPU 0's 7 events are lost.
        Assert.Equal((0, 7L), (budget.Free, budget.LostEvents));
        Assert.Equal(["vcpu1"], vcpus.Rows.Select(r => r.Label));
        vcpus.Sample([Thread(201, 1, 1)]);
        Assert.Equal((1, 8L), (budget.Free, vcpus.Rows[0].Totals[0]));
    }

    /// <summary>Summing a VM's vCPUs at each sample allocates nothing once its threads stay (the refresh loop).</summary>
    [Fact]
    public void SummingAllocatesNothingInSteadyState()
    {
        var vcpus = new GuestVcpus();
        VcpuReading unknown = Thread(300, -1, 1);
        vcpus.Sample([Thread(99, 2, 4), unknown]);
        List<VcpuReading> readings = [Thread(100, 0, 1), Thread(101, 1, 2), Thread(102, 1, 3), unknown];
        Assert.Equal(0, Allocations.InSteadyState(() => vcpus.Sample(readings)));
        Assert.Equal(["vcpu0", "vcpu1", "tid 300", "vcpu2"], vcpus.Rows.Select(r => r.Label));
        Assert.Equal([1L, 5, 1, 4], vcpus.Rows.Select(r => r.Totals[0]));
    }

    /// <summary>
    /// A dense host keeps one of these per VM (4,000 of them): a one-vCPU VM's costs 632 bytes
    /// (without exit latencies), with nothing for gone threads until one goes (it cost 1,256 with
    /// two sets of threads, two tables of rows and the tables of gone threads made with it).
    /// </summary>
    [Fact]
    public void AOneVcpuVmsVcpusCostLittle()
    {
        Assert.SkipWhen(Allocations.Instrumented, "coverage instrumentation allocates");
        VcpuReading thread = new(100, 0, "vcpu0", [1], null);
        var budget = new GoneVcpuBudget(1);
        new GuestVcpus(budget).Sample([thread]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var vcpus = new GuestVcpus(budget);
        for (int i = 0; i < 3; i++)
            vcpus.Sample([thread]);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before - 3 * ListOfOne;
        Assert.InRange(bytes, 1, 700);
    }

    /// <summary>What the test's list of one reading costs ([x] makes a list and its array).</summary>
    private static readonly long ListOfOne = Measure(() => _ = new List<VcpuReading> { null! });

    private static long Measure(Action make)
    {
        make();
        long before = GC.GetAllocatedBytesForCurrentThread();
        make();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
