using System.Globalization;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Sources.BinaryStats;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Host;

namespace KvmStat.Cli;

/// <summary>
/// --doctor: what this host offers to a KVM monitor, and why a source does not work. Each line
/// is "ok", "warn" or "fail" with the finding and, where useful, what to do. The exit status is 1
/// when a check failed, so scripts can tell a host that cannot be monitored. With --engine it
/// checks the engine a run would count with, with -p/-g the one VM a run would watch.
/// </summary>
internal sealed partial class Doctor(HostPaths paths, TextWriter output, TimeProvider time, DoctorRequest request)
{
    private readonly CounterDescriptors _descriptors = new();
    private const string Tracepoint = TracepointCatalog.KvmExit;
    private bool _failed;
    private bool _bpfCounts;

    /// <summary>Whether tracefs's KVM tracepoints were found (what reaches each VM says so).</summary>
    private bool _tracepoints;
    private BpfCounters? _table;
    private IReadOnlyList<TracepointField>? _catalog;

    /// <summary>The fields a run would count of this host's tracepoints (their format files read once for every check).</summary>
    private IReadOnlyList<TracepointField> Catalog(Tracefs tracefs, ExitReasonSet exitReasons) => _catalog ??= TracepointCatalog.Discover(tracefs, exitReasons);

    /// <summary>The fields a run with these options counts (-f's, or every one, with the reasons of each tracepoint).</summary>
    private FieldSelection Selection => new(request.Fields ?? FieldFilter.Default, Children: true);

    internal int Run(TimeSpan activityCheck)
    {
        try
        {
            return Check(activityCheck);
        }
        finally
        {
            _table?.Dispose();
            _descriptors.Dispose();
        }
    }

    private int Check(TimeSpan activityCheck)
    {
        CheckRequest();
        uint euid = Interop.Libc.GetEUid();
        string? paranoid = SysFile.TryReadText(paths.PerfEventParanoid)?.Trim();
        bool perfmon = CheckPrivileges(euid);
        Line(perfmon || paranoid == "-1" ? "ok" : "warn", "perf_event_paranoid",
            $"{paranoid ?? "unknown"}{(perfmon ? " (CAP_PERFMON is not limited by it)" : " (system-wide counting needs -1 without CAP_PERFMON)")}");

        var kvm = KvmAvailability.Probe(paths);
        string[] modules = Directory.Exists(paths.SysModule)
            ? [.. Directory.EnumerateDirectories(paths.SysModule, "kvm*").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
        Line(kvm.Usable ? "ok" : "fail", "KVM",
            $"{kvm.Describe()}; modules: {(modules.Length > 0 ? string.Join(", ", modules) : "none")}{(kvm.Fix is null ? "" : ". " + kvm.Fix)}");
        ExitReasonSet exitReasons = ExitReasonSetDetector.Detect(paths);
        Line(exitReasons == ExitReasonSet.Unknown ? "warn" : "ok", "exit reasons",
            exitReasons == ExitReasonSet.Unknown
                ? "neither VMX nor SVM (no kvm_intel/kvm_amd module, no vmx/svm CPU flag): kvm_exit gets no per-reason children"
                : exitReasons switch
                {
                    ExitReasonSet.Vmx => "VMX (Intel): kvm_exit's children are VMX exit reasons",
                    ExitReasonSet.Svm => "SVM (AMD): kvm_exit's children are SVM exit codes",
                    _ => "arm64: kvm_exit's children are exception classes (esr_ec)",
                });

        Tracefs? tracefs = CheckTracefs();
        _tracepoints = tracefs is not null;
        if (tracefs is not null)
            CheckEngine(tracefs, exitReasons);
        CheckFields(tracefs, exitReasons);
        if (tracefs is not null)
            CheckGuestFields(tracefs, exitReasons);
        CheckDebugfs(kvm);
        CheckFileLimit(tracefs, exitReasons);
        // Counting every CPU needs root, CAP_PERFMON or perf_event_paranoid -1 (the units' capabilities do).
        if (tracefs is not null && (perfmon || paranoid == "-1"))
            CheckExitActivity(tracefs, activityCheck);
        else if (tracefs is not null)
            Line("warn", "kvm_exit", "not checked: counting on every CPU needs root or CAP_PERFMON (or perf_event_paranoid -1), and so do exit latencies");
        CheckTable();
        CheckVms();
        return _failed ? 1 : 0;
    }

    /// <summary>Root, or which sources the capabilities this process has allow, and what each other source lacks.</summary>
    /// <returns>Whether perf may count every CPU (CAP_PERFMON or root).</returns>
    private bool CheckPrivileges(uint euid)
    {
        ulong? effective = Capabilities.Effective(SysFile.TryReadText("/proc/self/status") ?? "");
        bool perfmon = effective is ulong caps && Capabilities.Has(caps, Capabilities.Perfmon);
        if (euid == 0 && effective is ulong all && Capabilities.BySource.All(s => s.Needs.All(n => Capabilities.Has(all, n.Capability))))
        {
            Line("ok", "privileges", "running as root");
            return true;
        }
        Line("warn", "privileges", $"running as uid {euid} with {(effective is ulong mask ? $"capabilities {mask:x}" : "unknown capabilities")}; per source:");
        foreach ((string source, (int Capability, string Why)[] needs) in Capabilities.BySource)
        {
            var missing = needs.Where(n => effective is not ulong mask || !Capabilities.Has(mask, n.Capability)).ToList();
            Line(missing.Count == 0 ? "ok" : "warn", $"  {source}", missing.Count == 0
                ? "has what it needs"
                : "needs " + string.Join(", ", missing.Select(n => $"{Capabilities.Name(n.Capability)} ({n.Why})")));
        }
        return perfmon;
    }

    private void Line(string status, string what, string finding)
    {
        _failed |= status == "fail";
        output.WriteLine($"{status,-4}  {what,-20}  {finding}");
    }

    private Tracefs? CheckTracefs()
    {
        try
        {
            Tracefs tracefs = Tracefs.Locate(paths);
            int count = tracefs.ListKvmEvents().Count;
            TraceFormat? format = tracefs.ReadFormat(TracepointCatalog.KvmUserspaceExit);
            string names = format?.Tables.Count > 0 ? "exit-reason names from the kernel's format files" : "built-in exit-reason names";
            Line("ok", "tracefs", $"{tracefs.Root}: {count} kvm tracepoints; {names}");
            return tracefs;
        }
        catch (KvmStatException e)
        {
            // As a run finds it: without tracefs, one that names no source counts debugfs instead.
            string fallback = Tracefs.IsAbsent(paths) && Directory.Exists(paths.DebugfsKvm)
                ? " A run without -t counts KVM's debugfs statistics instead (as -d)."
                : "";
            Line("fail", "tracefs", $"{e.CauseAndFix}{fallback}");
            return null;
        }
    }

    private void CheckDebugfs(KvmAvailability kvm)
    {
        if (!Directory.Exists(paths.DebugfsKvm))
        {
            // debugfs is mode 0700: only root, or a process with CAP_DAC_READ_SEARCH, may list it.
            // A mounted debugfs is never empty; without usable KVM it has no kvm folder.
            bool? mounted = DebugfsMount.Listed(paths);
            Line("fail", "debugfs", mounted is null
                ? $"cannot read {paths.Debugfs}: permission denied (debugfs is readable by root only). Run kvm_stat as root for -d."
                : mounted == true
                    ? $"mounted, but no {paths.DebugfsKvm}: KVM makes that folder, and {(kvm.Usable ? "it is missing although /dev/kvm is present" : kvm.Describe())}"
                    : $"not mounted (no {paths.DebugfsKvm}): mount -t debugfs none /sys/kernel/debug (as root)");
            return;
        }
        int readable = 0, locked = 0;
        // The statistics -d reads, as it names them.
        foreach (string name in Sources.Debugfs.DebugfsSource.StatNames(paths))
        {
            _ = SysFile.TryReadText(Path.Join(paths.DebugfsKvm, name), out int errno);
            if (errno is Interop.Errno.EPERM or Interop.Errno.EACCES)
                locked++;
            else
                readable++;
        }
        string? lockdown = SysFile.TryReadText(paths.Lockdown)?.Trim();
        Line(locked == 0 ? "ok" : "warn", "debugfs",
            locked == 0
                ? $"{paths.DebugfsKvm}: {readable} statistics readable"
                : $"{paths.DebugfsKvm}: {locked} of {locked + readable} statistics blocked (EPERM: kernel lockdown{(lockdown is null ? "" : $" {lockdown}")}); only instant values readable. {BinaryStatsProbe.LockdownHint(paths, RunningVms())}");
    }

    /// <summary>What a run with perf counters needs: a counter per field a run counts (-f's, every exit reason's child among them) on each CPU.</summary>
    private void CheckFileLimit(Tracefs? tracefs, ExitReasonSet exitReasons)
    {
        if (Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit limit) != 0)
            return;
        int cpus = OnlineCpus.Parse(SysFile.TryReadText(paths.CpuOnline) ?? "")?.Count ?? Environment.ProcessorCount;
        if (tracefs is null)
        {
            Line("warn", "open files", $"soft {limit.Current}, hard {limit.Maximum}; what counting needs is unknown without tracefs");
            return;
        }
        FieldSelection selection = Selection;
        int fields = selection.Select(Catalog(tracefs, exitReasons), f => f.Name, f => f.Parent).Count;
        ulong needed = (ulong)(cpus * fields) + FileLimit.Spare;
        Line(limit.Maximum >= needed ? "ok" : "fail", "open files",
            $"soft {limit.Current}, hard {limit.Maximum}; system-wide counting of {fields} fields on {cpus} CPUs needs {needed} (the soft limit is raised as needed)");
        // Per VM thread the perf engine counts parent fields only (as TracepointEngines opens them):
        // exit reasons per thread would multiply the descriptors.
        int perVm = (selection with { Children = false }).Select(Catalog(tracefs, exitReasons), f => f.Name, f => f.Parent).Count;
        if (!_bpfCounts)
            CheckPerVmFiles(perVm, needed, limit.Maximum);
    }

    /// <summary>
    /// Counts kvm_exit and the events only an exit raises (kvm_entry, exits to user space, port and
    /// MMIO accesses, which a VMM may handle in the kernel) for a moment: do VM exits show in kvm_exit here?
    /// </summary>
    private void CheckExitActivity(Tracefs tracefs, TimeSpan duration)
    {
        IReadOnlyList<string> events = tracefs.ListKvmEvents();
        string[] names = [Tracepoint, BpfPrograms.KvmEntry, TracepointCatalog.KvmUserspaceExit];
        if (names.Any(n => !events.Contains(n)))
            return;
        names = [.. names, .. new[] { "kvm_pio", "kvm_mmio" }.Where(events.Contains)];
        using var counters = new CounterDescriptors();
        var set = new TracepointCounterSet(tracefs, [.. names.Select(n => new TracepointField(n, n, null, null))], counters, verbose: null);
        try
        {
            using var source = TracepointSource.ForAllCpus(set, OnlineCpus.Read(paths));
            long[] values = new long[names.Length];
            // Counting for a while is the check itself: the process has nothing else to do meanwhile.
            Task.Delay(duration, time).GetAwaiter().GetResult();
            source.Read(values);
            string counts = string.Create(CultureInfo.InvariantCulture,
                $"in {duration.TotalSeconds:0.#} s: {string.Join(", ", names.Select((n, i) => $"{n} {values[i]}"))}");
            if (values[0] > 0)
                Line("ok", "kvm_exit", $"fires ({counts})");
            else if (values.AsSpan(1).IndexOfAnyExcept(0L) >= 0)
                Line("warn", "kvm_exit", $"never fired although VMs ran ({counts}): this hypervisor does not trace VM exits; use the other tracepoints (kvm_userspace_exit, kvm_pio, kvm_mmio...) or binary statistics");
            else
                Line("warn", "kvm_exit", $"no VM activity to judge by ({counts})");
            CheckLatency(entries: values[1], activity: values.AsSpan(1).IndexOfAnyExcept(0L) >= 0, bpf: _bpfCounts);
            if (_bpfCounts)
                CheckLatencyPrograms(tracefs);
        }
        catch (KvmStatException e)
        {
            Line("fail", "kvm_exit", $"cannot count: {e.Message}");
        }
    }
}
