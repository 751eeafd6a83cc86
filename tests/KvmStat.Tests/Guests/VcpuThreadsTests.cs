using System.Globalization;
using KvmStat.Guests;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Guests;

/// <summary>Which vCPU a thread of a VM runs: QEMU's thread names, else the vCPU descriptor a thread waits on in ioctl(KVM_RUN).</summary>
public class VcpuThreadsTests
{
    private static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("CPU 0/KVM\n", 0)]
    [InlineData("CPU 17/KVM", 17)]
    [InlineData("CPU 1/TCG\n", -1)]
    [InlineData("CPU -1/KVM\n", -1)]
    [InlineData("CPU /KVM\n", -1)]
    [InlineData("qemu-system-x86\n", -1)]
    [InlineData(null, -1)]
    [InlineData("fc_vcpu 3\n", 3)]
    [InlineData("vcpu12\n", 12)]
    [InlineData("kvm-vcpu-5\n", 5)]
    [InlineData("vcpu\n", -1)]
    [InlineData("vcpu-x\n", -1)]
    [InlineData("fc_vcpu\n", -1)]
    [InlineData("vcpu_worker1\n", -1)]
    public void VmmsNameTheirVcpuThreads(string? comm, int index) => Assert.Equal(index, VcpuThreads.IndexFromName(comm));

    [Fact]
    public void AThreadInKvmRunNamesItsDescriptor()
    {
        string ioctl = Interop.Abi.SYS_ioctl.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(12, VcpuThreads.DescriptorInKvmRun($"{ioctl} 0xc {Hex((long)Interop.Abi.KVM_RUN)} 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n"));
        // Another ioctl, another system call, none.
        Assert.Null(VcpuThreads.DescriptorInKvmRun($"{ioctl} 0xc 0xae03 0x0 0x0 0x0 0x0 0x7ffd 0x7f01"));
        Assert.Null(VcpuThreads.DescriptorInKvmRun($"{ioctl + 1} 0xc {Hex((long)Interop.Abi.KVM_RUN)} 0x0"));
        Assert.Null(VcpuThreads.DescriptorInKvmRun("running\n"));
        Assert.Null(VcpuThreads.DescriptorInKvmRun("-1 0x7ffd 0x7f01\n"));
        Assert.Null(VcpuThreads.DescriptorInKvmRun(null));
        Assert.Equal(3, VcpuThreads.IndexFromLink("anon_inode:kvm-vcpu:3"));
        Assert.Equal(-1, VcpuThreads.IndexFromLink("anon_inode:kvm-vm"));
    }

    /// <summary>A VM's threads: QEMU's by name, another VMM's while in KVM_RUN by its descriptor, the rest not listed; by vCPU.</summary>
    [Fact]
    public void TheThreadsOfAVmByVcpu()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(500, ["qemu-system-x86_64"], threads: [500, 501, 502, 503, 504]);
        fixture.AddThread(500, 500, "qemu-system-x86");
        fixture.AddThread(500, 501, "CPU 1/KVM");
        fixture.AddThread(500, 502, "CPU 0/KVM");
        fixture.AddThread(500, 503, "vcpu");
        fixture.AddThread(500, 504, "vcpu");
        fixture.WriteFile("/proc/500/task/503/syscall", $"{Interop.Abi.SYS_ioctl} 0x9 {Hex((long)Interop.Abi.KVM_RUN)} 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n");
        fixture.WriteFile("/proc/500/task/504/syscall", "running\n");
        fixture.AddDescriptor(500, 9, "anon_inode:kvm-vcpu:2");
        var threads = new VcpuThreads(fixture.Paths);

        Assert.Equal([new VcpuThread(502, 0), new VcpuThread(501, 1), new VcpuThread(503, 2)], threads.List(500));
        Assert.Equal(new VcpuThread(504, -1), threads.Identify(500, 504));
        Assert.Equal(("vcpu2", "tid 504"), (threads.Identify(500, 503).Label, threads.Identify(500, 504).Label));
        // A process that is gone: no threads, and a thread of it is one of no known vCPU.
        Assert.Empty(threads.List(600));
        Assert.Equal(-1, threads.Identify(600, 601).Index);
    }
}
