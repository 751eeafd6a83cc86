using System.Diagnostics;
using System.Globalization;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Sources.Debugfs;
using KvmStat.Sources.Tracing;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// Everything a mode needs, set up from the options: which VM (if any), the field filter, the
/// sources, and the collector over them. Environment problems surface here as plain errors.
/// </summary>
internal sealed class Session : IDisposable
{
    private Session(StatsCollector stats, int pid, string? guestName, TracepointSource? tracepoints, DebugfsSource? debugfs)
    {
        Stats = stats;
        Pid = pid;
        GuestName = guestName;
        Tracepoints = tracepoints;
        Debugfs = debugfs;
    }

    internal StatsCollector Stats { get; }

    /// <summary>The watched VM process, or 0 for all.</summary>
    internal int Pid { get; }

    internal string? GuestName { get; }

    internal TracepointSource? Tracepoints { get; }

    internal DebugfsSource? Debugfs { get; }

    internal static Session Open(Options options, HostPaths paths, Reporter reporter)
    {
        var guests = new GuestFinder(paths);
        (int pid, string? guestName) = ResolveVm(options, guests);
        FieldFilter filter = FieldFilter.Create(options.Fields);

        var sources = new List<IStatsSource>(2);
        DebugfsSource? debugfs = null;
        TracepointSource? tracepoints = null;
        try
        {
            if (options.Debugfs)
            {
                debugfs = new DebugfsSource(paths, filter, pid, options.IncludePast, new StatFileReader(), reporter.Warn);
                if (pid > 0 && !options.UseTracepoints && debugfs.FolderCountFor(pid) == 0)
                    throw new EnvironmentException(
                        $"debugfs has no statistics folder for pid {pid} (no {paths.DebugfsKvm}/{pid}-*).",
                        "Is it a KVM process? Without -d, tracepoints count per thread of any process.");
                sources.Add(debugfs);
            }
            if (options.UseTracepoints)
            {
                tracepoints = OpenTracepoints(paths, filter, pid, reporter);
                sources.Add(tracepoints);
            }
        }
        catch
        {
            debugfs?.Dispose();
            tracepoints?.Dispose();
            throw;
        }

        int fieldCount = sources.Sum(s => s.Fields.Count);
        if (fieldCount == 0)
            throw new UsageException(
                $"no field matches \"{filter.Pattern}\".",
                "List the available fields with: kvm_stat -f help");
        return new Session(new StatsCollector(sources), pid, guestName, tracepoints, debugfs);
    }

    private static TracepointSource OpenTracepoints(HostPaths paths, FieldFilter filter, int pid, Reporter reporter)
    {
        long started = Stopwatch.GetTimestamp();
        Tracefs tracefs = Tracefs.Locate(paths);
        ExitReasonSet exitReasons = ExitReasonSetDetector.Detect(paths);
        IReadOnlyList<TracepointField> catalog = TracepointCatalog.Discover(tracefs, exitReasons);
        List<TracepointField> selected = filter.Select(catalog, f => f.Name, f => f.Parent);
        if (selected.Count == 0)
            throw new UsageException(
                $"no tracepoint field matches \"{filter.Pattern}\".",
                "List the available fields with: kvm_stat -f help");
        if (exitReasons == ExitReasonSet.Unknown)
            reporter.Verbose("exit reasons: neither VMX nor SVM found (no kvm_intel/kvm_amd module, no vmx/svm CPU flag); kvm_exit has no child fields");

        var set = new TracepointCounterSet(tracefs, selected, reporter.VerboseOrNull);
        TracepointSource source = pid > 0
            ? TracepointSource.ForProcess(set, paths, pid)
            : TracepointSource.ForAllCpus(set, OnlineCpus.Read(paths));
        string where = pid > 0
            ? $"{source.GroupCount} threads of pid {pid}"
            : $"{source.GroupCount} CPUs";
        reporter.Verbose(string.Create(CultureInfo.InvariantCulture,
            $"tracepoints: {tracefs.Root}, {set.Fields.Count} fields on {where} ({set.Fields.Count * source.GroupCount} counters) opened in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms"));
        return source;
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
