using KvmStat.Guests;
using KvmStat.Sources.BinaryStats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

/// <summary>
/// A descriptor copied from a process is read only once the copy is a KVM statistics descriptor.
/// This host has no /dev/kvm, so the process's /proc entries (that it holds a VM, that its
/// descriptor 7 is kvm-vcpu-stats) come from a fixture tree, as a process that swaps its
/// descriptors between the look and the copy would make them read; the process and its
/// descriptor 7 are real: user nobody, holding a file laid out as KVM statistics.
/// </summary>
public class HeldDescriptorVerificationTests : IDisposable
{
    private readonly FixtureRoot _fixture = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-held-").FullName;

    public void Dispose()
    {
        _fixture.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>A real process whose descriptor 7 is a file holding <paramref name="blob"/>; as user nobody where asked.</summary>
    private ChildProcess Holding(byte[] blob, bool asNobody = false)
    {
        string file = Path.Join(_folder, "stats");
        File.WriteAllBytes(file, blob);
        File.SetUnixFileMode(_folder, (UnixFileMode)0x1ed); // 0755 and 0644: nobody reads the file
        File.SetUnixFileMode(file, (UnixFileMode)0x1a4);
        string script = $"exec 7<'{file}'; echo ready; exec sleep 60";
        ChildProcess process = asNobody
            ? ChildProcess.Start("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", script])
            : ChildProcess.Start("/bin/sh", ["-c", script]);
        process.Output.WaitForLine(l => l == "ready", TimeSpan.FromSeconds(30), "the process ready");
        return process;
    }

    /// <summary>A running VM process in the fixture whose descriptor 7 its /proc says is a vCPU's statistics.</summary>
    private void AddVm(int pid, string name)
    {
        _fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", name]);
        _fixture.MarkRunning(pid);
        _fixture.AddDescriptor(pid, 7, "anon_inode:kvm-vcpu-stats:0");
        _fixture.AddDescriptor(pid, 8, "anon_inode:kvm-vm");
        _fixture.AddDebugfsStat($"{pid}-8/exits", 0);
    }

    [Fact]
    public void AFileOfferedAsAStatisticsDescriptorIsNeverRead()
    {
        using ChildProcess impostor = Holding(new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 666).Build(), asNobody: true);
        int pid = impostor.Pid;
        AddVm(pid, "evil");

        var time = new ManualTime();
        using var reader = new HeldDescriptorReader(_fixture.Paths, 0, time, _ => { }, new VmDiscovery(_fixture.Paths, time, _ => { }));
        var vms = new List<VmStatsBlocks>();
        reader.Read(vms);
        Assert.Empty(vms);
        Assert.Equal([pid], reader.Untrusted);
        // Not copied from again while it runs.
        reader.Read(vms);
        Assert.Empty(vms);
    }

    /// <summary>
    /// A new process under a followed VM's pid (its start time differs) is a new VM: the copies of
    /// the dead one's descriptors are let go, the new one's are copied even where they have the
    /// same numbers, and its blocks are a new instance (which JSON and the exporter name anew).
    /// </summary>
    [Fact]
    public void ANewProcessUnderAFollowedVmsPidIsANewVm()
    {
        using ChildProcess vmm = Holding(new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 5).Build());
        int pid = vmm.Pid;
        AddVm(pid, "first");

        var time = new ManualTime();
        int copies = 0;
        using var reader = new HeldDescriptorReader(_fixture.Paths, 0, time, discovery: new VmDiscovery(_fixture.Paths, time, _ => { }), ownLink: _ => { copies++; return "anon_inode:kvm-vcpu-stats:0"; }, warn: _ => { });
        var vms = new List<VmStatsBlocks>();
        reader.Read(vms);
        VmStatsBlocks first = Assert.Single(vms);
        IStatsBlock firstBlock = Assert.Single(first.Blocks);
        reader.Read(vms);
        Assert.Same(first, Assert.Single(vms));

        _fixture.MarkRunning(pid, start: 200);
        reader.Read(vms);
        VmStatsBlocks second = Assert.Single(vms);
        Assert.Equal(pid, second.Pid);
        Assert.NotEqual(first.Instance, second.Instance);
        Assert.NotSame(firstBlock, Assert.Single(second.Blocks));
        Assert.Equal(2, copies);
        Assert.Equal(1, reader.TrackedVms);
    }

    /// <summary>A refresh of VMs already followed (no rescan due) allocates nothing: it runs at every interval.</summary>
    [Fact]
    public void AReadInSteadyStateAllocatesNothing()
    {
        using ChildProcess vmm = Holding(new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 5).Build());
        AddVm(vmm.Pid, "steady");
        var time = new ManualTime();
        using var reader = new HeldDescriptorReader(_fixture.Paths, 0, time, discovery: new VmDiscovery(_fixture.Paths, time, _ => { }), ownLink: _ => "anon_inode:kvm-vcpu-stats:0", warn: _ => { });
        var vms = new List<VmStatsBlocks>();
        Assert.Equal(0, Allocations.InSteadyState(() => reader.Read(vms)));
        Assert.Single(vms);
    }

    /// <summary>
    /// A real statistics descriptor whose layout this tool cannot read (a newer kernel's unit) is
    /// left out, said in the VM's health, and not copied again at each rescan.
    /// </summary>
    [Fact]
    public void AStatisticsDescriptorOfAnUnknownLayoutIsSaidAndNotCopiedAgain()
    {
        using ChildProcess vmm = Holding(new StatsBlob().Add("exits", 9u << 4, 0, 0, 1).Build());
        int pid = vmm.Pid;
        AddVm(pid, "new");

        var time = new ManualTime();
        int copies = 0;
        var warnings = new List<string>();
        using var reader = new HeldDescriptorReader(_fixture.Paths, 0, time, discovery: new VmDiscovery(_fixture.Paths, time, _ => { }), ownLink: _ => { copies++; return "anon_inode:kvm-vcpu-stats:0"; }, warn: warnings.Add);
        var vms = new List<VmStatsBlocks>();
        reader.Read(vms);
        Assert.Empty(vms);
        var health = new List<KvmStat.Sources.SourceHealth>();
        reader.ReportHealth(health);
        KvmStat.Sources.SourceHealth mine = Assert.Single(health, h => h.Target == $"pid {pid}");
        Assert.StartsWith("statistics descriptor 7 has a layout this tool cannot read (stats descriptor exits: unknown type, unit or base", mine.Problem);
        time.Advance(TimeSpan.FromSeconds(10));
        reader.Read(vms);
        Assert.Equal(1, copies);
        Assert.Equal([$"binary statistics of pid {pid}: {mine.Problem}."], warnings);
    }
}
