using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Stats;

public class StatsCollectorTests
{
    [Fact]
    public void TotalsAndDeltasAcrossSourcesSortedByName()
    {
        var tracepoints = new FakeSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_exit"));
        var debugfs = new FakeSource(FakeSource.Gauge("pages_4k"), FakeSource.Counter("exits"));
        var stats = new StatsCollector([tracepoints, debugfs], TimeProvider.System);
        Assert.Equal(["exits", "kvm_exit", "kvm_pio", "pages_4k"], stats.Fields.ByName.ToArray().Select(i => stats.Fields[i].Name));

        tracepoints.Set("kvm_pio", 5);
        debugfs.Set("pages_4k", 100);
        stats.Sample(TimeProvider.System.GetTimestamp());
        Assert.Equal([5, 0, 100, 0], stats.Totals.ToArray());
        Assert.Equal([5, 0, 100, 0], stats.Deltas.ToArray());

        tracepoints.Set("kvm_pio", 12);
        debugfs.Set("pages_4k", 90);
        stats.Sample(TimeProvider.System.GetTimestamp());
        Assert.Equal([12, 0, 90, 0], stats.Totals.ToArray());
        Assert.Equal([7, 0, -10, 0], stats.Deltas.ToArray());
    }

    [Fact]
    public void ResetStartsCountersAgainButLeavesGauges()
    {
        var source = new FakeSource(FakeSource.Counter("kvm_pio"), FakeSource.Gauge("pages_4k"));
        var stats = new StatsCollector([source], TimeProvider.System);
        source.Set("kvm_pio", 40);
        source.Set("pages_4k", 8);
        stats.Sample(TimeProvider.System.GetTimestamp());
        stats.ResetTotals();
        source.Set("kvm_pio", 45);
        stats.Sample(TimeProvider.System.GetTimestamp());
        Assert.Equal([5, 8], stats.Totals.ToArray());
        Assert.Equal([5, 0], stats.Deltas.ToArray());
    }

    [Fact]
    public void SamplingDoesNotAllocate()
    {
        var source = new FakeSource(FakeSource.Counter("a"), FakeSource.Counter("b"), FakeSource.Gauge("c"));
        var stats = new StatsCollector([source], TimeProvider.System);
        stats.Sample(TimeProvider.System.GetTimestamp());
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            source.Set("a", i);
            stats.Sample(TimeProvider.System.GetTimestamp());
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
