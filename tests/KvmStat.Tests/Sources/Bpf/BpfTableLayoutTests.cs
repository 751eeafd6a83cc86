using KvmStat.Sources.Bpf;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>The kernel memory of the BPF engine's tables, modelled for any host (the kernel's own accounting is checked in BpfEventTests).</summary>
public class BpfTableLayoutTests
{
    /// <summary>Per process, one shared table: its memory grows with processes and fields, not with CPUs, and stays within 64 MiB.</summary>
    [Theory]
    [InlineData(91)]
    [InlineData(199)]
    [InlineData(2000)]
    public void PerProcessTablesDoNotGrowWithTheCpus(int fields)
    {
        BpfTableLayout small = BpfTableLayout.For(fields, BpfScope.EveryProcess, cpus: 2);
        BpfTableLayout wide = BpfTableLayout.For(fields, BpfScope.EveryProcess, cpus: 384);
        // The same room, but for the few slots the per-CPU parts of the small maps take where the budget binds.
        Assert.InRange(wide.Capacity, small.Capacity - 16, small.Capacity);
        Assert.True(wide.Capacity >= 4000 || fields * 8L * 4001 > BpfTableLayout.MemoryBudget, $"room for {wide.Capacity} processes");
        Assert.InRange(wide.MapBytes(), small.MapBytes() - 64 * 1024, small.MapBytes() + 64 * 1024);
        Assert.True(wide.MapBytes() <= BpfTableLayout.MemoryBudget, $"{wide.MapBytes()} bytes");
        // A row per slot, one for the unattributed and one for processes outside VMs, each an owner word and a counter per field.
        Assert.Equal((wide.Capacity + 2L) * (fields + 1) * 8, wide.BytesOf(CounterProgram.Counts, 0) - Environment.SystemPageSize, 4096.0);
    }

    /// <summary>
    /// Every map together within 64 MiB, with latencies and vCPU rows too, on the widest host and
    /// with the most fields (SVM's 245, VMX's 199): the other tables take their room first, and the
    /// processes' table keeps room for 4,000 VMs.
    /// </summary>
    [Theory]
    [InlineData(199, false, false)]
    [InlineData(199, true, true)]
    [InlineData(245, true, false)]
    [InlineData(245, false, true)]
    [InlineData(245, true, true)]
    public void EveryMapTogetherStaysWithin64MiB(int fields, bool latency, bool vcpus)
    {
        foreach (int cpus in new[] { 2, 64, 384 })
        {
            BpfTableLayout layout = BpfTableLayout.For(fields, BpfScope.EveryProcess, cpus, latency: latency, threadFields: vcpus ? 91 : 0, threadReasons: vcpus);
            Assert.True(layout.MapBytes() + BpfTableLayout.ReasonMapsMargin <= BpfTableLayout.MemoryBudget, $"{cpus} CPUs: {layout.MapBytes()} bytes");
            Assert.InRange(layout.Capacity, 4000, BpfTableLayout.MaxSlots);
            // Not smaller than it needs to be: one slot more would pass the budget, or the table is at its most.
            Assert.True(layout.Capacity == BpfTableLayout.MaxSlots ||
                (layout with { Capacity = layout.Capacity + 1 }).MapBytes() + BpfTableLayout.ReasonMapsMargin > BpfTableLayout.MemoryBudget - 64 * 1024);
        }
    }

    [Fact]
    public void TheHostsTotalsAreARowPerCpu()
    {
        BpfTableLayout layout = BpfTableLayout.For(199, BpfScope.Host, cpus: 384);
        Assert.Equal(0, layout.Capacity);
        Assert.Equal(1, layout.Rows);
        Assert.Equal(0, layout.FieldOffset(0));
        Assert.Equal(312 + 8 + 199 * 8L * 384, layout.BytesOf(CounterProgram.Counts, 0));
        Assert.Equal(8, BpfTableLayout.For(199, BpfScope.EveryProcess, cpus: 384).FieldOffset(0));
    }
}
