using System.Globalization;
using System.Runtime.InteropServices;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// Real perf counters without KVM: syscalls:sys_enter_getppid given to a fixture under a kvm
/// tracepoint's name, so that a thread that calls getppid() raises it.
/// </summary>
internal static partial class GetppidTracepoint
{
    private const string IdFile = "/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id";

    [LibraryImport("libc.so.6", EntryPoint = "getppid")]
    internal static partial int Call();

    /// <summary>Skips the test on a kernel that does not trace system calls.</summary>
    internal static void SkipUnlessTraced() =>
        Assert.SkipUnless(File.Exists(IdFile), "syscalls:sys_enter_getppid is absent: this kernel does not trace system calls");

    /// <summary>Adds the tracepoint to <paramref name="fixture"/> as <paramref name="name"/>.</summary>
    internal static void AddAs(FixtureRoot fixture, string name) =>
        fixture.AddTracepoint(name, int.Parse(File.ReadAllText(IdFile).Trim(), CultureInfo.InvariantCulture));
}
