using KvmStat.Guests;
using KvmStat.Stats;
using KvmStat.Host;

namespace KvmStat.Cli;

/// <summary>
/// Everything a mode needs, set up from the options: which VM (if any), the field filter, the
/// sources, and the collector over them. Environment problems surface here as plain errors.
/// </summary>
internal sealed class Session : IDisposable
{
    private Session(StatsCollector stats, int pid, string? guestName, SourceFactory factory, GuestFinder guests)
    {
        Stats = stats;
        Pid = pid;
        GuestName = guestName;
        Factory = factory;
        Guests = guests;
    }

    internal SourceFactory Factory { get; }

    internal GuestFinder Guests { get; }

    internal StatsCollector Stats { get; }

    /// <summary>The watched VM process, or 0 for all.</summary>
    internal int Pid { get; }

    internal string? GuestName { get; }

    internal static Session Open(Options options, HostPaths paths, Reporter reporter)
    {
        var guests = new GuestFinder(paths);
        (int pid, string? guestName) = ResolveVm(options, guests);
        var factory = new SourceFactory(options, paths, reporter);
        StatsCollector stats = factory.Open(Selection(options), pid);
        return new Session(stats, pid, guestName, factory, guests);
    }

    /// <summary>The non-interactive modes show what -f selects, children included.</summary>
    internal static FieldSelection Selection(Options options) => new(FieldFilter.Create(options.Fields), Children: true);

    /// <summary>Per-guest statistics for the structured outputs (all VMs; with -p the whole sample is one VM).</summary>
    internal GuestStats? OpenGuestStats(Options options)
    {
        if (Pid > 0)
            return null;
        return new GuestStats(Factory.OpenPerVm(Selection(options), children: true), Guests.NameOf);
    }

    /// <summary>-p or -g to a pid (0 for all VMs), with plain errors for every way that can fail.</summary>
    internal static (int Pid, string? Name) ResolveVm(Options options, GuestFinder guests)
    {
        if (options.Guest is string name)
        {
            IReadOnlyList<int> pids = guests.PidsNamed(name);
            if (pids.Count == 0)
                throw new EnvironmentException(
                    $"no guest by the name \"{Text.Escape(name)}\" found.",
                    "Names come from QEMU's -name option; kvm_stat -p PID selects a VM by pid.");
            if (pids.Count > 1)
                throw new EnvironmentException(
                    $"several guests are named \"{Text.Escape(name)}\" (pids: {string.Join(" ", pids)}).",
                    "Use \"-p\" to specify the desired pid.");
            return (pids[0], name);
        }
        if (options.Pid == 0)
            return (0, null);

        int pid = options.Pid;
        if (!guests.ProcessExists(pid))
            throw new EnvironmentException($"no process with pid {pid} exists.", "Check the pid of the VM (its QEMU process), e.g. with ps.");
        if (guests.ThreadGroupOf(pid) is int tgid && tgid != pid)
            throw new EnvironmentException(
                $"{pid} is a thread of process {tgid}, not a process.",
                $"Use the process id: -p {tgid}.");
        if (guests.HoldsVm(pid) == false)
            throw new EnvironmentException(
                $"process {pid} ({Text.Escape(guests.CommandOf(pid))}) is not running a KVM virtual machine.",
                "Give the pid of a VM process, such as a QEMU that runs with KVM.");
        return (pid, guests.NameOf(pid));
    }

    public void Dispose() => Stats.Dispose();
}
