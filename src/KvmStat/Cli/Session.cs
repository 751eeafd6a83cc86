using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// What every counting mode starts from, set up once from the options: the VM (if any), the
/// source factory, and the guest finder. Environment problems surface here as plain errors.
/// It owns what counts: the samplers it hands out and the perf descriptors under them. Its end
/// (Dispose) keeps the order that spares the user the kernel's grace periods: no more closing in
/// the background, then the samplers still open, then the hand-off of every descriptor left.
/// </summary>
internal sealed class Session : IDisposable
{
    private readonly CounterDescriptors _counters;
    private readonly HashSet<IDisposable> _open = new(ReferenceEqualityComparer.Instance);
    private string? _unconfirmed;
    private Action<string>? _warn;

    private Session(Options options, SourceFactory factory, GuestFinder guests, WatchedVm? vm, TimeProvider time, CounterDescriptors counters)
    {
        Options = options;
        Factory = factory;
        Guests = guests;
        Vm = vm;
        Time = time;
        _counters = counters;
    }

    internal Options Options { get; }

    internal SourceFactory Factory { get; }

    internal GuestFinder Guests { get; }

    /// <summary>The VM of -p/-g, or null for all.</summary>
    internal WatchedVm? Vm { get; }

    internal int Pid => Vm?.Pid ?? 0;

    internal TimeProvider Time { get; }

    internal static Session Resolve(Options options, HostPaths paths, Reporter reporter, TimeProvider time)
    {
        options = FallBackToDebugfs(options, paths, reporter);
        // After the fall-back, which makes -i apply (as the reference's does).
        if (options.IncludePast && !options.Debugfs)
            throw new UsageException("option -i/--debugfs-include-past applies to debugfs statistics: add -d.");
        var guests = new GuestFinder(paths) { Warn = reporter.Warn };
        // A pid taken for a VM without proof is said once counting opens: where it cannot (this
        // user may read nothing), the error that ends the run is what to read.
        string? unconfirmed = null;
        (int pid, string? name) = ResolveVm(options, guests, said => unconfirmed = said);
        var counters = new CounterDescriptors(reporter.VerboseOrNull);
        var factory = new SourceFactory(options, paths, reporter, counters, time);
        return new Session(options, factory, guests, pid > 0 ? new WatchedVm(pid, name ?? "") : null, time, counters)
        {
            _unconfirmed = unconfirmed,
            _warn = reporter.Warn,
        };
    }

    /// <summary>
    /// Without tracefs, a run that chose no source counts KVM's debugfs statistics, as the reference
    /// falls back; -t, and the options only tracepoints serve, insist on tracepoints (and fail, saying how to mount).
    /// </summary>
    private static Options FallBackToDebugfs(Options options, HostPaths paths, Reporter reporter)
    {
        if (!options.UseTracepoints || options.Tracepoints || options.Latency || options.Vcpus || options.Engine != TracepointEngineChoice.Auto)
            return options;
        if (!Tracefs.IsAbsent(paths) || !Directory.Exists(paths.DebugfsKvm))
            return options;
        reporter.Warn(FallbackNotice(paths));
        reporter.Warn("For the tracepoints, mount it (mount -t tracefs nodev /sys/kernel/tracing); -t insists on them.");
        return options with { Debugfs = true, FellBackToDebugfs = true };
    }

    /// <summary>What a run without tracefs says it counts instead (the screen shows it too, once open).</summary>
    internal static string FallbackNotice(HostPaths paths) =>
        $"tracefs is not mounted (no {paths.TracingPrimary}/events): counting KVM's debugfs statistics instead, as -d does.";

    /// <summary>Keeps what was opened until it is closed, or until the session ends.</summary>
    internal T Own<T>(T opened)
        where T : IDisposable
    {
        _open.Add(opened);
        return opened;
    }

    /// <summary>Closes something of the session's while it runs (the screen replaced it): its counters close in the background.</summary>
    internal void Close(IDisposable opened)
    {
        if (_open.Remove(opened))
            opened.Dispose();
    }

    public void Dispose()
    {
        _counters.EndRun();
        IDisposable[] owned = [.. _open, _counters];
        _open.Clear();
        Disposables.DisposeEach(owned);
    }

    /// <summary>
    /// What -f selects (by default every field, children included, as the reference counts), made
    /// once: the filter a run was checked with at start (a pattern too slow for a name is refused
    /// then) is the one every output matches with, answers kept.
    /// </summary>
    internal FieldSelection Selection => _selection ??= new(FieldFilter.Create(Options.Fields), Children: true);

    private FieldSelection? _selection;

    /// <summary>--guest-fields' filter, made once for the same reason (<see cref="Selection"/>).</summary>
    internal FieldFilter GuestFilter => _guestFilter ??= Options.GuestFilter;

    private FieldFilter? _guestFilter;

    /// <summary>
    /// The sampler of -1 and -l/-L: the chosen sources for the VM, and for --json each VM's values
    /// and binary statistics too (all VMs only: with -p the whole sample is one VM).
    /// </summary>
    internal Sampler OpenSampler()
    {
        bool json = Options.Format == OutputFormat.Json;
        return Open(new SamplingPlan(Selection, Pid, PerVm: json && Pid == 0, BinaryFields: true, BinaryPerVm: json, Lenient: false, Latency: Options.Latency,
            Vcpus: Options.Vcpus), Vm);
    }

    /// <summary>A sampler for a plan (the screen changes its view with new ones), owned until closed or the session ends.</summary>
    internal Sampler Open(SamplingPlan plan, WatchedVm? vm)
    {
        Sampler sampler = GuestFieldsChecked(Own(Factory.Open(plan, vm, Guests)));
        // What the engine has to say (BPF fell back to perf counters, exit latencies not measured),
        // once every check of the start has passed: a run refused at start gets its two lines alone.
        Factory.Engines.SayNotices();
        // Checked at start: a name met later that takes the second is said, as the start would have
        // (the plan's filter: the run's -f, or the screen's own).
        SayWhenTooSlow(plan.Selection.Filter, "-f", "Fields met from now on are left out.");
        SayWhenTooSlow(GuestFilter, "--guest-fields", "Fields met from now on get no per-guest values.");
        if (_unconfirmed is string said)
        {
            _unconfirmed = null;
            _warn?.Invoke(said);
        }
        return sampler;
    }

    /// <summary>Tells a filter to say, in one line, the first name it takes a second on from now (the default filter, shared and matching every name, never does).</summary>
    private void SayWhenTooSlow(FieldFilter filter, string option, string consequence)
    {
        if (!filter.IsDefault)
            filter.TimedOutLater ??= () => _warn?.Invoke($"{filter.TooSlow(option)!.Message} {consequence} {FieldFilter.SlowFix}");
    }

    /// <summary>
    /// --guest-fields must keep some field of the guests: one that keeps none would leave every
    /// guest without values, silently. Every name it will be asked of is matched here (the guests'
    /// fields, and with --latency the reasons of their histograms), so that a pattern too slow for
    /// one of them is refused now, not left to match nothing more at a later record or scrape.
    /// </summary>
    private Sampler GuestFieldsChecked(Sampler sampler)
    {
        if (Options.GuestFields is not string pattern || sampler.Snapshot.Guests?.Fields is not { Count: > 0 } fields)
            return sampler;
        FieldFilter filter = GuestFilter;
        // It chooses events and their exit reasons (a reason brings its event: FieldFilter.KeepsEach);
        // with --latency it may keep the reasons of each guest's histograms.
        bool keeps = false;
        foreach (bool kept in filter.KeepsEach(fields))
            keeps |= kept;
        if (sampler.Snapshot.Latencies is { } latencies)
        {
            bool[] timed = filter.KeepsEach(latencies.Fields);
            for (int i = 0; i < timed.Length; i++)
                keeps |= timed[i] && latencies.KindOf(i) >= 0;
        }
        if (filter.TooSlow("--guest-fields") is UsageException slow)
            throw slow;
        if (keeps)
            return sampler;
        string escaped = Text.EscapeControls(pattern);
        throw (Options.Latency, sampler.Snapshot.Latencies) switch
        {
            (false, _) => new UsageException($"--guest-fields \"{escaped}\" matches no event of the guests nor a reason of their exits (the BPF engine counts those per guest).",
                "List the events with: kvm_stat -f help; a reason is named as kvm_userspace_exit(IO)."),
            (true, null) => new UsageException($"--guest-fields \"{escaped}\" matches no event of the guests, and exit latencies, whose reasons it may choose, are not measured here.",
                "List the events with: kvm_stat -f help (kvm_stat --doctor says why exit latencies are not measured)."),
            _ => new UsageException($"--guest-fields \"{escaped}\" matches no event of the guests and no reason of their exit latencies.",
                "List the events with: kvm_stat -f help; a reason is named as kvm_userspace_exit(IO)."),
        };
    }

    /// <summary>
    /// Counting works without VMs (it reads what the kernel reports), but where none can run, one
    /// line says why the counts may stay at zero: once the run has opened what it counts.
    /// </summary>
    internal void SayWhetherVmsCanRun(Reporter reporter)
    {
        if (KvmAvailability.Probe(Factory.Paths) is { Usable: false } kvm)
            reporter.Warn($"no VM can run on this host: {kvm.Describe()}.");
    }

    /// <summary>
    /// The exporter's sampler: host fields, each VM's tracepoint counts, each VM's binary statistics.
    /// An exporter serves what it can read: a source that cannot be opened (a capability missing,
    /// tracefs not mounted) is served as down with the reason, from which an alert can say what
    /// is wrong on which host, where an exporter that stopped would only be missing.
    /// </summary>
    internal Sampler OpenExporterSampler() =>
        Open(new SamplingPlan(Selection, Pid, PerVm: Pid == 0, BinaryFields: false, BinaryPerVm: true, Lenient: true, Latency: Options.Latency,
            Vcpus: Options.Vcpus), Vm);

    /// <summary>-p or -g to a pid (0 for all VMs), with plain errors for every way that can fail.</summary>
    /// <param name="warn">Where a pid taken for a VM without proof is said.</param>
    internal static (int Pid, string? Name) ResolveVm(Options options, GuestFinder guests, Action<string>? warn = null)
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
            if (guests.HoldsVm(pids[0]) is null)
                SayUnconfirmed(pids[0], guests, warn);
            return (pids[0], name);
        }
        if (options.Pid == 0)
            return (0, null);

        int pid = options.Pid;
        PidCheck check = guests.CheckPid(pid);
        if (check.Verdict == PidVerdict.Unconfirmed)
            SayUnconfirmed(pid, guests, warn);
        return check.Verdict switch
        {
            PidVerdict.NotRunning => throw new EnvironmentException(
                $"no process with pid {pid} is running.", "Check the pid of the VM (its QEMU process), e.g. with ps."),
            PidVerdict.Thread => throw new EnvironmentException(
                $"{pid} is a thread of process {check.Process}, not a process.", $"Use the process id: -p {check.Process}."),
            PidVerdict.NotVm => throw new EnvironmentException(
                $"process {pid} ({Text.Escape(guests.CommandOf(pid))}) is not running a KVM virtual machine.",
                "Give the pid of a VM process, such as a QEMU that runs with KVM."),
            _ => (pid, guests.NameOf(pid)),
        };
    }

    private static void SayUnconfirmed(int pid, GuestFinder guests, Action<string>? warn) =>
        warn?.Invoke($"cannot tell whether process {pid} ({Text.Escape(guests.CommandOf(pid))}) runs a KVM VM (neither debugfs nor its descriptors can be read): its events are counted as a VM's.");
}
