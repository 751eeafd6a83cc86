using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Tests.Sources.BinaryStats;

public class BinaryStatsSourceTests
{
    private static readonly KvmStatDescriptor[] s_vcpuSchema =
    [
        new("exits", KvmStatType.Cumulative, KvmStatUnit.None, 10, 0, 1, 0, 0),
        new("blocking", KvmStatType.Instant, KvmStatUnit.Boolean, 10, 0, 1, 1, 0),
        new("halt_wait_hist", KvmStatType.LogHistogram, KvmStatUnit.Seconds, 10, -9, 1, 2, 0),
    ];

    private static readonly KvmStatDescriptor[] s_vmSchema =
    [
        new("pages_4k", KvmStatType.Instant, KvmStatUnit.None, 10, 0, 1, 0, 0),
        new("max_mmu_rmap_size", KvmStatType.Peak, KvmStatUnit.None, 10, 0, 1, 1, 0),
    ];

    /// <summary>A block whose values the test sets (Offset is the position, as for QMP).</summary>
    private sealed class Block(IReadOnlyList<KvmStatDescriptor> schema, int vcpu) : IStatsBlock
    {
        internal ulong[][] Data { get; } = [.. schema.Select(d => d.Type == KvmStatType.LogHistogram ? new ulong[16] : new ulong[1])];

        public IReadOnlyList<KvmStatDescriptor> Descriptors => schema;

        public int VcpuIndex => vcpu;

        public ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor) => Data[descriptor.Offset];
    }

    private sealed class Reader : IVmStatsReader
    {
        internal List<VmStatsBlocks> Vms { get; } = [];

        internal (Block Vm, Block[] Vcpus) AddVm(int pid, int vcpus)
        {
            var vm = new VmStatsBlocks(pid);
            var own = new Block(s_vmSchema, -1);
            vm.Blocks.Add(own);
            Block[] cpus = [.. Enumerable.Range(0, vcpus).Select(i => new Block(s_vcpuSchema, i))];
            vm.Blocks.AddRange(cpus);
            Vms.Add(vm);
            return (own, cpus);
        }

        public void Read(List<VmStatsBlocks> vms)
        {
            vms.Clear();
            vms.AddRange(Vms);
        }

        public void ReportHealth(List<SourceHealth> into)
        {
        }

        public void Dispose()
        {
        }
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<BinaryStatsSource, BinaryStatsCapture> s_captures = [];

    /// <summary>A source over its own capture, which <see cref="Read"/> takes first, as the sampler does.</summary>
    private static BinaryStatsSource Open(IVmStatsReader reader, IFieldSelection selection, string howToReach = "")
    {
        var capture = new BinaryStatsCapture(reader);
        var source = new BinaryStatsSource(capture, selection, (howToReach, null));
        s_captures.Add(source, capture);
        return source;
    }

    private static void ReadVms(BinaryStatsSource source, List<VmReading> readings)
    {
        if (s_captures.TryGetValue(source, out BinaryStatsCapture? capture))
            capture.Capture();
        source.Read(readings);
    }

    private static Dictionary<string, long> Read(BinaryStatsSource source)
    {
        if (s_captures.TryGetValue(source, out BinaryStatsCapture? capture))
            capture.Capture();
        long[] values = new long[source.Fields.Count];
        source.Read(values);
        return source.Fields.Select((f, i) => (f.Name, values[i])).ToDictionary();
    }

    private static readonly FieldSelection s_all = new(FieldFilter.Default, Children: true);

    [Fact]
    public void FieldsHaveDebugfsNamesWithVcpuChildrenAndPercentiles()
    {
        var reader = new Reader();
        reader.AddVm(100, vcpus: 2);
        using var source = Open(reader, s_all, "");
        Assert.Equal(
            ["max_mmu_rmap_size", "pages_4k", "blocking", "blocking(vcpu0)", "blocking(vcpu1)", "exits", "exits(vcpu0)", "exits(vcpu1)",
             "halt_wait_hist", "halt_wait_hist_p50_us", "halt_wait_hist_p90_us", "halt_wait_hist_p99_us"],
            source.Fields.Select(f => f.Name));
        StatField exits = source.Fields.Single(f => f.Name == "exits(vcpu1)");
        Assert.Equal(("exits", StatKind.Counter), (exits.Parent, exits.Kind));
        Assert.Equal(StatKind.Gauge, source.Fields.Single(f => f.Name == "pages_4k").Kind);
        Assert.Equal(StatKind.Gauge, source.Fields.Single(f => f.Name == "max_mmu_rmap_size").Kind);
        Assert.Equal(StatKind.Counter, source.Fields.Single(f => f.Name == "halt_wait_hist").Kind);
        Assert.Equal(StatKind.Gauge, source.Fields.Single(f => f.Name == "halt_wait_hist_p99_us").Kind);
        Assert.Null(source.Fields.Single(f => f.Name == "halt_wait_hist_p99_us").Parent);
    }

    [Fact]
    public void ASelectionWithoutChildrenLeavesOutPerVcpuChildrenButNotPercentiles()
    {
        var reader = new Reader();
        reader.AddVm(100, vcpus: 2);
        using var source = Open(reader, new FieldSelection(FieldFilter.Default, Children: false), "");
        Assert.DoesNotContain(source.Fields, f => f.IsChild);
        Assert.Contains(source.Fields, f => f.Name == "halt_wait_hist_p50_us");
    }

    /// <summary>A read of the host's values is on the refresh loop's path (IStatsSource.Read): nothing allocated once the VMs stay.</summary>
    [Fact]
    public void AReadAllocatesNothingInSteadyState()
    {
        var reader = new Reader();
        reader.AddVm(100, vcpus: 2);
        Block vcpu = reader.AddVm(200, vcpus: 1).Vcpus[0];
        using var source = Open(reader, s_all, "");
        long[] values = new long[source.Fields.Count];
        BinaryStatsCapture capture = s_captures.TryGetValue(source, out BinaryStatsCapture? c) ? c : throw new InvalidOperationException();
        Assert.Equal(0, Infrastructure.Allocations.InSteadyState(() =>
        {
            vcpu.Data[2][3]++;
            capture.Capture();
            source.Read(values);
        }, warmUp: 1000, rounds: 100));
        Assert.Equal(1099, values[source.Fields.Select(f => f.Name).ToList().IndexOf("halt_wait_hist")]);
    }

    [Fact]
    public void CountersCountFromTheStartGaugesAreValuesPeaksTheMaximum()
    {
        var reader = new Reader();
        (Block vm1, Block[] cpus1) = reader.AddVm(100, vcpus: 2);
        cpus1[0].Data[0][0] = 1000;
        vm1.Data[0][0] = 50;
        vm1.Data[1][0] = 7;
        using var source = Open(reader, s_all, "");
        Dictionary<string, long> first = Read(source);
        Assert.Equal(0, first["exits"]);
        Assert.Equal(50, first["pages_4k"]);

        cpus1[0].Data[0][0] = 1010;
        cpus1[1].Data[0][0] = 5;
        cpus1[1].Data[1][0] = 1;
        (Block vm2, Block[] cpus2) = reader.AddVm(200, vcpus: 1);
        cpus2[0].Data[0][0] = 30; // a VM that appears later counts from its own start
        vm2.Data[0][0] = 10;
        vm2.Data[1][0] = 3;
        Dictionary<string, long> second = Read(source);
        Assert.Equal(45, second["exits"]);
        Assert.Equal(40, second["exits(vcpu0)"]);
        Assert.Equal(5, second["exits(vcpu1)"]);
        Assert.Equal(60, second["pages_4k"]);
        Assert.Equal(7, second["max_mmu_rmap_size"]);
        Assert.Equal(1, second["blocking"]);

        // The first VM exits: what it counted stays, its instant values go.
        reader.Vms.RemoveAt(0);
        Dictionary<string, long> third = Read(source);
        Assert.Equal(45, third["exits"]);
        Assert.Equal(10, third["pages_4k"]);
        Assert.Equal(3, third["max_mmu_rmap_size"]);
    }

    [Fact]
    public void HistogramsGiveTheirCountAndPercentilesOverTheInterval()
    {
        var reader = new Reader();
        (_, Block[] cpus) = reader.AddVm(100, vcpus: 2);
        cpus[0].Data[2][11] = 500; // old, long waits: before the start, not in any interval
        using var source = Open(reader, s_all, "");
        _ = Read(source);

        // 2^10..2^11 ns = [1.024, 2.048) us: 90 waits; and 10 waits in [0.5, 1) us on the other vCPU.
        cpus[0].Data[2][11] += 90;
        cpus[1].Data[2][10] += 10;
        Dictionary<string, long> values = Read(source);
        Assert.Equal(100, values["halt_wait_hist"]);
        // p50: 40 of the 90 waits into [1024, 2048) ns = 1479 ns; p99: 2036 ns.
        Assert.Equal(1, values["halt_wait_hist_p50_us"]);
        Assert.Equal(2, values["halt_wait_hist_p99_us"]);

        Dictionary<string, long> quiet = Read(source);
        Assert.Equal(100, quiet["halt_wait_hist"]);
        Assert.Equal(0, quiet["halt_wait_hist_p50_us"]);
    }

    [Fact]
    public void PerVmReadingsForTheGuestView()
    {
        var reader = new Reader();
        (_, Block[] a) = reader.AddVm(100, vcpus: 1);
        (_, Block[] b) = reader.AddVm(200, vcpus: 1);
        using var source = Open(reader, new FieldSelection(FieldFilter.Create("exits"), Children: false), "");
        var readings = new List<VmReading>();
        ReadVms(source, readings);
        a[0].Data[0][0] += 3;
        b[0].Data[0][0] += 4;
        ReadVms(source, readings);
        Assert.Equal([(100, 3L), (200, 4L)], readings.Select(r => (r.Pid, r.Values[0])));
        // Each reading names its process among those under its pid (a new one under 100 is another VM).
        Assert.Equal(reader.Vms.Select(vm => vm.Instance), readings.Select(r => r.Instance));
        Assert.NotEqual(readings[0].Instance, readings[1].Instance);
    }

    /// <summary>Blocks of VMs that come and go are let go; what their counters counted stays in the totals.</summary>
    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoBlocksBehind()
    {
        var reader = new Reader();
        reader.AddVm(1, vcpus: 1);
        using var source = Open(reader, new FieldSelection(FieldFilter.Create("exits"), Children: false), "");
        var readings = new List<VmReading>();
        ReadVms(source, readings);
        for (int round = 0; round < 10; round++)
        {
            reader.Vms.Clear();
            var vcpus = new List<Block>();
            for (int pid = round * 1000 + 100; pid < round * 1000 + 1100; pid++)
                vcpus.AddRange(reader.AddVm(pid, vcpus: 2).Vcpus);
            ReadVms(source, readings);
            Assert.Equal(1000, readings.Count);
            Assert.Equal(3000, source.TrackedBlocks);
            foreach (Block vcpu in vcpus)
                vcpu.Data[0][0] += 5;
            Assert.Equal((round + 1) * 10_000, Read(source)["exits"]);
            reader.Vms.Clear();
            ReadVms(source, readings);
            Assert.Empty(readings);
            Assert.Equal(0, source.TrackedBlocks);
            Assert.Equal((round + 1) * 10_000, Read(source)["exits"]);
        }
    }

    [Fact]
    public void NoVmAtAllIsAnError()
    {
        var e = Assert.Throws<EnvironmentException>(() => Open(new Reader(), s_all, "none reached."));
        Assert.Contains("none reached.", e.Message);
    }
}
