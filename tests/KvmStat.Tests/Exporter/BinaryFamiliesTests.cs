using System.Text.RegularExpressions;
using KvmStat.Exporter;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>Binary statistics from VMs whose descriptors their owners choose: what one VM says costs that VM only.</summary>
public class BinaryFamiliesTests
{
    private sealed class Block(int vcpu, params (KvmStatDescriptor Descriptor, ulong[] Values)[] stats) : IStatsBlock
    {
        public IReadOnlyList<KvmStatDescriptor> Descriptors { get; } = [.. stats.Select(s => s.Descriptor)];

        public int VcpuIndex => vcpu;

        public ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor) => stats.First(s => s.Descriptor == descriptor).Values;
    }

    private readonly List<string> _log = [];

    private static KvmStatDescriptor Stat(string name, KvmStatType type = KvmStatType.Cumulative) => new(name, type, KvmStatUnit.None, 10, 0, 1, 0, 0);

    private static VmStatsBlocks Vm(int pid, params IStatsBlock[] blocks)
    {
        var vm = new VmStatsBlocks(pid);
        vm.Blocks.AddRange(blocks);
        return vm;
    }

    private string Exposition(BinaryFamilies binary, params VmStatsBlocks[] vms)
    {
        var families = new List<MetricFamily>();
        // Named as the sampler names them.
        foreach (VmStatsBlocks vm in vms)
            vm.Name ??= $"vm{vm.Pid}";
        binary.Add(families, vms);
        var writer = new MetricsWriter(openMetrics: false);
        string text = writer.Write(families);
        Assert.Empty(writer.Dropped);
        return text;
    }

    private BinaryFamilies Binary(int maxSeries = BinaryFamilies.MaxSeriesPerVm, int maxBytes = BinaryFamilies.MaxBytesPerVm) =>
        new(FieldFilter.Default, _log.Add, maxSeries, maxBytes);

    private static int Series(string text, int pid) => text.Split('\n').Count(l => l.StartsWith("kvm_v", StringComparison.Ordinal) && l.Contains($"pid=\"{pid}\""));

    /// <summary>
    /// The VM of the lowest pid says exits is an instant value, another names a gauge exits_total
    /// (the counter exits' sample name): the two VMs that agree on the counter keep their series, the
    /// two that differ lose theirs, counted and said once.
    /// </summary>
    [Fact]
    public void AVmThatDiffersLosesItsOwnSeriesOnly()
    {
        BinaryFamilies binary = Binary();
        VmStatsBlocks[] vms =
        [
            Vm(5, new Block(0, (Stat("exits_total", KvmStatType.Instant), [1]))),
            Vm(10, new Block(-1, (Stat("pages_4k", KvmStatType.Instant), [4])), new Block(0, (Stat("exits", KvmStatType.Instant), [666]))),
            Vm(20, new Block(-1, (Stat("pages_4k", KvmStatType.Instant), [8])), new Block(0, (Stat("exits"), [7]))),
            Vm(30, new Block(0, (Stat("exits"), [9]))),
        ];
        for (int scrape = 0; scrape < 2; scrape++)
        {
            string text = Exposition(binary, vms);
            Assert.Contains("kvm_vcpu_exits_total{guest=\"vm20\",pid=\"20\",vcpu=\"0\"} 7\n", text);
            Assert.Contains("kvm_vcpu_exits_total{guest=\"vm30\",pid=\"30\",vcpu=\"0\"} 9\n", text);
            Assert.Contains("kvm_vm_pages_4k{guest=\"vm20\",pid=\"20\"} 8\n", text);
            Assert.Equal(0, Series(text, 5));
            Assert.Equal(0, Series(text, 10));
            Assert.Contains("kvm_stat_vm_series_dropped{guest=\"vm10\",pid=\"10\",reason=\"its statistic exits differs in type, unit or size from other VMs'\"} 2\n", text);
            Assert.Contains("kvm_stat_vm_series_dropped{guest=\"vm5\",pid=\"5\",reason=\"its statistic exits_total differs in type, unit or size from other VMs'\"} 1\n", text);
        }
        Assert.Equal(2, _log.Count);
        Assert.Contains("VM 10 (vm10): 2 series of its binary statistics left out: its statistic exits differs in type, unit or size from other VMs'.", _log);
    }

    /// <summary>One VM with 10 vCPUs of 20 statistics against a bound of 100 series: it keeps 100, the VM beside it all of its own.</summary>
    [Fact]
    public void AVmPastItsBoundKeepsItsFirstSeriesAndTheOthersAllOfTheirs()
    {
        KvmStatDescriptor[] stats = [.. Enumerable.Range(0, 20).Select(i => Stat($"s{i}"))];
        IStatsBlock Vcpu(int index) => new Block(index, [.. stats.Select(s => (s, new ulong[] { 1 }))]);
        string text = Exposition(Binary(maxSeries: 100), Vm(40, [.. Enumerable.Range(0, 10).Select(Vcpu)]), Vm(50, Vcpu(0)));
        Assert.Equal(100, Series(text, 40));
        Assert.Equal(20, Series(text, 50));
        Assert.Contains("kvm_stat_vm_series_dropped{guest=\"vm40\",pid=\"40\",reason=\"more than 100 series or 4194304 bytes\"} 100\n", text);
        Assert.Equal(["VM 40 (vm40): 100 series of its binary statistics left out: more than 100 series or 4194304 bytes."], _log);
    }

    /// <summary>
    /// At the exporter's own bounds: a VM that claims 64 vCPUs of 1,024 statistics of 128-character
    /// names (what made a 208 MB scrape) adds at most 4 MiB, and the other VM is whole.
    /// </summary>
    [Fact]
    public void AHugeVmAddsNoMoreThanItsBound()
    {
        KvmStatDescriptor[] stats = [.. Enumerable.Range(0, 1024).Select(i => Stat($"s{i:D4}".PadRight(128, 'x')))];
        var shared = stats.Select(s => (s, new ulong[] { 1 })).ToArray();
        string text = Exposition(Binary(), Vm(60, [.. Enumerable.Range(0, 64).Select(i => new Block(i, shared))]), Vm(70, new Block(0, shared[..3])));
        int huge = text.Split('\n').Where(l => l.Contains("pid=\"60\"")).Sum(l => l.Length + 1);
        Assert.InRange(huge, 1, BinaryFamilies.MaxBytesPerVm);
        Assert.Equal(3, Series(text, 70));
        Assert.Matches(new Regex("kvm_stat_vm_series_dropped\\{guest=\"vm60\",pid=\"60\",reason=\"more than 40000 series or 4194304 bytes\"\\} [0-9]+\n"), text);
    }
}
