namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// Tests that start VMs or count system-wide share one collection: it runs its tests one at a
/// time (a system-wide count sees every VM on the host), while unit tests run beside it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KvmCollection
{
    public const string Name = "kvm";
    public const string Category = "Kvm";
}

internal static class Kvm
{
    /// <summary>
    /// KVM's "exits" counts every exit, also those the host causes: the vCPU thread preempted or
    /// signalled in guest mode, a host interrupt. These statistics bound them.
    /// </summary>
    internal const string HostCausedExits = "irq_exits|preemption_other|preemption_reported|request_irq_exits|signal_exits";

    /// <summary>
    /// What the tool writes on stderr besides its findings: on a host without /dev/kvm, -1, -l and
    /// --serve say once that no VM can run here.
    /// </summary>
    internal static IEnumerable<string> WithoutNoVmLine(IEnumerable<string> lines) =>
        lines.Where(l => !(l.StartsWith("kvm_stat: no VM can run on this host: ", StringComparison.Ordinal) && !File.Exists("/dev/kvm")));

    /// <summary>These tests may skip only where the host has no KVM at all.</summary>
    internal static void Require() =>
        Assert.SkipUnless(File.Exists("/dev/kvm"), "/dev/kvm is absent: this host cannot run KVM guests");

    /// <summary>
    /// For tests that need KVM's tracepoints but no VM (counters opened, programs attached, the
    /// exporter served): they run wherever the kvm module is loaded, /dev/kvm or not.
    /// </summary>
    internal static void RequireTracepoints() =>
        Assert.SkipUnless(Directory.Exists("/sys/kernel/tracing/events/kvm"), "KVM's tracepoints are absent: the kvm module is not loaded");

    /// <summary>Whether kernel lockdown blocks debugfs's cumulative counters (reading one fails).</summary>
    internal static bool DebugfsCountersLockedDown()
    {
        try
        {
            File.ReadAllText("/sys/kernel/debug/kvm/exits");
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            // EPERM: lockdown. Anything else (no debugfs, no such file) is a broken host, not a skip.
            return true;
        }
    }
}
