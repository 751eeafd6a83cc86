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
        Assert.Equal(small.Capacity, wide.Capacity);
        Assert.True(wide.Capacity >= 4000 || fields * 8L * 4001 > BpfTableLayout.MemoryBudget, $"room for {wide.Capacity} processes");
        Assert.InRange(wide.MapBytes(), small.MapBytes(), small.MapBytes() + 64 * 1024);
        Assert.True(wide.MapBytes() <= BpfTableLayout.MemoryBudget + (2 << 20), $"{wide.MapBytes()} bytes");
        // A row per slot and one for the unattributed, each an owner word and a counter per field.
        Assert.Equal((wide.Capacity + 1L) * (fields + 1) * 8, wide.BytesOf(CounterProgram.Counts, 0) - Environment.SystemPageSize, 4096.0);
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
