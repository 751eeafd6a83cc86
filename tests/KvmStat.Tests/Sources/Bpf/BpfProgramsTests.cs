using KvmStat.Sources.Bpf;

namespace KvmStat.Tests.Sources.Bpf;

public class BpfProgramsTests
{
    /// <summary>
    /// Exits to user space are timed to the next entry whichever ends them; kvm_exit's only where
    /// kvm_entry ends them (the syscall entry follows no exit handled in the kernel); nothing
    /// stamps without latencies, and no other tracepoint does.
    /// </summary>
    [Theory]
    [InlineData("kvm_userspace_exit", "kvm_entry", true)]
    [InlineData("kvm_userspace_exit", "sys_enter", true)]
    [InlineData("kvm_exit", "kvm_entry", true)]
    [InlineData("kvm_exit", "sys_enter", false)]
    [InlineData("kvm_userspace_exit", null, false)]
    [InlineData("kvm_exit", null, false)]
    [InlineData("kvm_pio", "kvm_entry", false)]
    public void WhichProgramsStampExits(string tracepoint, string? entry, bool stamps) =>
        Assert.Equal(stamps, BpfPrograms.StampsExits(tracepoint, entry));
}
