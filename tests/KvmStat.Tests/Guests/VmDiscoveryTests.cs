using KvmStat.Guests;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Guests;

/// <summary>Finding VMs through /proc (no debugfs) within a budget: any user may hold a million descriptors.</summary>
public class VmDiscoveryTests
{
    private static void AddVm(FixtureRoot fixture, int pid, int fd)
    {
        fixture.AddProcess(pid, ["qemu-system-x86_64"]);
        fixture.AddDescriptor(pid, fd, "anon_inode:kvm-vm");
    }

    private static void AddHoarder(FixtureRoot fixture, int pid, int descriptors)
    {
        fixture.AddProcess(pid, ["python3", "hoard.py"], comm: "python3");
        for (int fd = 0; fd < descriptors; fd++)
            fixture.AddDescriptor(pid, fd, "/dev/null");
    }

    /// <summary>
    /// A debugfs folder names the pid that made a VM, which may have handed it on and exited, the
    /// pid then anyone's: a folder's VM is listed only while that pid's descriptor is a VM's (looked
    /// at once, and again every few seconds); where descriptors cannot be read, the folder tells.
    /// </summary>
    [Fact]
    public void ADebugfsFolderCountsWhileItsPidHoldsItsDescriptor()
    {
        using var fixture = new FixtureRoot();
        var time = new ManualTime();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("100-7/exits", 0);
        fixture.AddDebugfsStat("200-9/exits", 0);
        fixture.AddDebugfsStat("300-4/exits", 0);
        AddVm(fixture, 100, 7);
        fixture.AddProcess(200, ["sleep", "600", "-name", "victim"]);
        var discovery = new VmDiscovery(fixture.Paths, time, _ => { });
        var pids = new List<int>();
        discovery.List(pids);
        // 300: no process to look at, so no telling: the folder's word.
        Assert.Equal([100, 300], pids);

        // 100 exits and a process that holds no VM takes its pid: gone at the next look.
        fixture.RemoveProcess(100);
        fixture.AddProcess(100, ["sleep", "600"]);
        discovery.List(pids);
        Assert.Equal([100, 300], pids);
        time.Advance(TimeSpan.FromSeconds(4));
        discovery.List(pids);
        Assert.Equal([300], pids);
    }

    /// <summary>
    /// Where /proc is too slow, what would find VMs at once: where no VM can run here, that (by
    /// anyone, mounted or not); else mounting debugfs where it is not mounted, never a mount that
    /// is there already.
    /// </summary>
    [Fact]
    public void WhatFindsVmsAtOnceIsSaidAsThisHostStands()
    {
        using var fixture = new FixtureRoot();
        Assert.Equal("Mount debugfs (mount -t debugfs none /sys/kernel/debug) to find VMs at once.", VmDiscovery.AtOnce(fixture.Paths));
        fixture.WriteFile("/sys/kernel/debug/tracing/README", "");
        Assert.Equal($"debugfs, which would find them at once, has no {fixture.Paths.DebugfsKvm} although /dev/kvm is present.", VmDiscovery.AtOnce(fixture.Paths));
        fixture.RemoveKvm();
        Assert.Equal("No process runs a VM here: the KVM module is not loaded (no /sys/module/kvm, no /dev/kvm).", VmDiscovery.AtOnce(fixture.Paths));
        Assert.Equal("No process runs a VM here: the KVM module is not loaded (no /sys/module/kvm, no /dev/kvm).", VmDiscovery.AtOnce(fixture.Paths, unreadable: true));
    }

    /// <summary>
    /// debugfs's folder is root's (mode 0700), mounted or not: for another user, who cannot list
    /// it, the mount table tells the fix (root or CAP_DAC_READ_SEARCH where it is mounted).
    /// </summary>
    [Fact]
    public void DebugfsThatOnlyRootMayReadIsSaidSo()
    {
        using var fixture = new FixtureRoot();
        Assert.Equal("Mount debugfs (mount -t debugfs none /sys/kernel/debug) to find VMs at once.", VmDiscovery.AtOnce(fixture.Paths, unreadable: true));
        fixture.WriteFile("/proc/self/mountinfo", "22 1 0:21 / /sys rw - sysfs sysfs rw\n44 22 0:8 / /sys/kernel/debug rw,relatime - debugfs none rw\n");
        Assert.Equal("debugfs, which would find them at once, is readable by root only: run as root, or give CAP_DAC_READ_SEARCH.",
            VmDiscovery.AtOnce(fixture.Paths, unreadable: true));
    }

    /// <summary>
    /// A scan looks at no more descriptors than its budget: a process that holds many delays the
    /// VMs after it by a scan or two (said once), never hides them, and the VMs found before are
    /// looked at again first, for one descriptor each.
    /// </summary>
    [Fact]
    public void AScanStaysWithinItsBudgetAndGoesOnWhereTheLastStopped()
    {
        using var fixture = new FixtureRoot();
        AddVm(fixture, 100, 7);
        AddHoarder(fixture, 200, 300);
        AddVm(fixture, 300, 9);
        var warnings = new List<string>();
        var discovery = new VmDiscovery(fixture.Paths, new ManualTime(), warnings.Add);
        var pids = new List<int>();

        // 100 (one look, its VM at the first descriptor), then the hoarder's 300 use up a budget of 250.
        discovery.ScanProc(budget: 250);
        discovery.List(pids);
        Assert.Equal([100], pids);
        Assert.StartsWith("finding VMs through /proc: the processes hold more descriptors than one scan looks at (250)", Assert.Single(warnings));
        // The next scan goes on after the hoarder: 300 is found.
        discovery.ScanProc(budget: 250);
        discovery.List(pids);
        Assert.Equal([100, 300], pids);
        // A VM that exited leaves the list at the next scan; one said once.
        fixture.RemoveProcess(100);
        discovery.ScanProc(budget: 250);
        discovery.List(pids);
        Assert.Equal([300], pids);
        Assert.Single(warnings);
    }

    /// <summary>
    /// At most <see cref="VmDescriptorProbe.MaxDescriptors"/> of one process are looked at (the
    /// kernel lists them lowest numbers first, and a VMM's VM descriptor is among its first); a VM
    /// descriptor ends the look at once; a process that is gone cannot be told.
    /// </summary>
    [Fact]
    public void AProcessIsLookedAtUpToItsFirstDescriptors()
    {
        using var fixture = new FixtureRoot();
        AddHoarder(fixture, 200, VmDescriptorProbe.MaxDescriptors + 100);
        AddVm(fixture, 300, 4000);
        var probe = new VmDescriptorProbe(fixture.Paths);
        // A process costs one for its folder, and one for each descriptor looked at.
        Assert.False(probe.Holds(200, out _));
        Assert.Equal(1 + VmDescriptorProbe.MaxDescriptors, probe.Examined);
        Assert.True(probe.Holds(300, out int fd));
        Assert.Equal((4000, VmDescriptorProbe.MaxDescriptors + 3L), (fd, probe.Examined));
        Assert.True(probe.StillHolds(300, 4000));
        Assert.False(probe.StillHolds(300, 3));
        Assert.Null(probe.Holds(999, out _));
    }

    /// <summary>The kernel lists a process's descriptors lowest numbers first: what the cap relies on.</summary>
    [Fact]
    public void TheKernelListsDescriptorsByNumber()
    {
        using var files = new DisposableList();
        for (int i = 0; i < 40; i++)
            files.Add(File.OpenHandle("/dev/null"));
        string[] names = [.. Directory.EnumerateFileSystemEntries($"/proc/{Environment.ProcessId}/fd").Select(Path.GetFileName).OfType<string>()];
        int[] numbers = [.. names.Select(int.Parse)];
        Assert.Equal(numbers.Order(), numbers);
    }

    private sealed class DisposableList : List<IDisposable>, IDisposable
    {
        public void Dispose() => ForEach(d => d.Dispose());
    }
}
