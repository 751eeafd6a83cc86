using System.Globalization;
using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Debugfs;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// Opens what a <see cref="SamplingPlan"/> asks for (tracepoints through an engine, debugfs, binary
/// statistics) as one <see cref="Sampler"/>, as often as the screen changes its view. What is
/// discovered once (tracefs, the field catalogue, the VM discovery) is kept. A failure closes
/// whatever was opened for the sampler: no counter or program stays behind.
/// </summary>
internal sealed partial class SourceFactory(Options options, HostPaths paths, Reporter reporter, CounterDescriptors counters, TimeProvider time)
{
    private VmDiscovery? _discovery;
    private TracepointEngines? _engines;
    private HeldDescriptorReader? _held;

    internal HostPaths Paths => paths;

    /// <summary>The one list of running VMs every per-VM source shares (its /proc scan is cached).</summary>
    internal VmDiscovery Discovery => _discovery ??= new VmDiscovery(paths, time, reporter.Warn);

    /// <summary>The running VMs, from the run's one list.</summary>
    private List<int> RunningVms()
    {
        var pids = new List<int>();
        Discovery.List(pids);
        return pids;
    }

    /// <summary>What counts tracepoints (BPF or perf counters) for a field selection.</summary>
    internal TracepointEngines Engines => _engines ??= new TracepointEngines(options.Engine, paths, reporter, counters, Discovery);

    internal Tracefs Tracefs => Engines.Tracefs;

    /// <summary>A sampler over everything the plan asks for, for <paramref name="vm"/> (null: all VMs).</summary>
    internal Sampler Open(SamplingPlan plan, WatchedVm? vm, GuestFinder guests)
    {
        var sources = new SamplingSources();
        try
        {
            ITracepointEngine? engine = options.UseTracepoints ? OpenEngineFor(plan, sources) : null;
            if ((options.BinaryStats || options.UsesQmp) && (plan.BinaryFields || plan.BinaryPerVm || (plan.PerVm && !options.UseTracepoints)))
            {
                sources.Binary = new BinaryStatsCapture(OpenBinaryReader(plan.Pid, plan.Lenient));
                sources.Captures.Add(sources.Binary);
            }
            if (options.Debugfs && TryOpen(plan, sources, SourceHealth.Debugfs, () => OpenDebugfs(plan.Selection, plan.Pid)) is { } debugfs)
                sources.Host.Add(debugfs);
            if (plan.BinaryFields && sources.Binary is not null)
                sources.Host.Add(OpenBinaryFields(sources.Binary, plan.Selection, plan.Pid));
            if (engine is not null)
            {
                // Perf counters open lazily: a user the kernel refuses learns it only here.
                // (The fallback to perf counters is said once the run has started: Session.Open.)
                if (TryOpen(plan, sources, SourceHealth.Tracepoints, () => OpenTracepoints(engine, plan.Pid, plan.VcpuChildren ? plan.Selection : null)) is { } tracepoints)
                {
                    sources.Host.Add(tracepoints);
                }
                else
                {
                    sources.DropEngine();
                    engine = null;
                }
            }
            if (engine?.Latencies is ExitLatencies latencies)
            {
                sources.Latencies = latencies;
                sources.Host.Add(new LatencySource(latencies, plan.Pid, plan.Selection with { Children = true }));
            }
            else if (plan.Latency && engine is not null && Engines.LatencyRefusal is string refusal)
                // Said on stderr as the engine opened; down in JSON and the exporter too, so that
                // empty latencies have their cause where they are read (kvm_stat_source_up 0).
                sources.Unopened.Add(new SourceHealth(SourceHealth.ExitLatency, "", $"exit latencies are not measured: {refusal}"));
            // Each VM's binary statistics, where captured, are in the snapshot as they are: no per-VM rows of them too.
            if (plan.PerVm && (engine is not null || !(plan.BinaryPerVm && sources.Binary is not null)))
                sources.PerVm = TryOpen(plan, sources, "each VM's values", () => OpenPerVm(plan.Selection, engine, sources.Binary));
            // The exporter serves what opened, but an -f that matches nothing (latency fields
            // included) is a mistake there too: nothing would be served. Without an engine, each
            // VM's values (but binary statistics, served as they are) are of the host's selection.
            if (plan.Selection.Filter.TooSlow() is UsageException slow)
                throw slow;
            bool nothingOpened = sources.Unopened.Count == 0 && sources.Binary is null && (engine is null || sources.PerVm is null);
            if ((!plan.Lenient || nothingOpened) && sources.Host.Sum(s => s.Fields.Count) == 0)
                throw new UsageException($"no field matches \"{Text.EscapeControls(plan.Selection.Filter.Pattern)}\".", NoFieldFix(plan.Selection.Filter, plan.Latency));
            return new Sampler(sources, vm, guests.NameOfVm, time, plan.HoldWhenVmExits ? guests.IsRunning : null, reporter.Warn, guests);
        }
        catch
        {
            sources.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The plan's engine, owned by <paramref name="sources"/>; null when the exporter serves tracepoints
    /// as down, or when -f keeps no tracepoint field but other sources are read.
    /// </summary>
    private ITracepointEngine? OpenEngineFor(SamplingPlan plan, SamplingSources sources)
    {
        ITracepointEngine engine;
        try
        {
            // -p with --vcpus: the VM's vCPUs, listed once for both questions, for an -f that names their children.
            IReadOnlyList<string> vcpuLabels = TracepointEngines.VcpuLabels(paths, plan.VcpuChildren ? plan.Pid : 0);
            if (!plan.Latency && !Engines.Selects(plan.Selection, vcpuLabels))
            {
                // As the reference's tracepoint provider left with no fields: the other sources' fields are shown.
                if (options.Debugfs || options.BinaryStats || options.UsesQmp)
                    return null;
                List<string> debugfs = DebugfsSource.StatNames(paths).FindAll(plan.Selection.Filter.Matches);
                throw NoTracepointField(plan.Selection.Filter, debugfs.Count == 0 ? NoFieldFix(plan.Selection.Filter)
                    : $"It names {FieldNames(debugfs)} of debugfs: read debugfs with -d (-d -t for both).");
            }
            engine = Engines.Open(plan.Selection, plan.PerVm, plan.Pid, plan.Latency, plan.CountsVcpus, vcpuLabels);
        }
        catch (EnvironmentException e) when (plan.Lenient)
        {
            sources.Unopened.Add(Unopened(SourceHealth.Tracepoints, e));
            return null;
        }
        sources.Engine = engine;
        if (engine.Capture is ICapture capture)
            sources.Captures.Add(capture);
        return engine;
    }

    /// <summary>What <paramref name="open"/> opens; for the exporter (lenient), null when the host refuses it, which is then served as down.</summary>
    private T? TryOpen<T>(SamplingPlan plan, SamplingSources sources, string name, Func<T> open)
        where T : class
    {
        try
        {
            return open();
        }
        catch (EnvironmentException e) when (plan.Lenient)
        {
            sources.Unopened.Add(Unopened(name, e));
            return null;
        }
    }

    /// <summary>Causes said of sources served as down: a second source down for one of them says so in a word.</summary>
    private readonly HashSet<string> _saidDown = new(StringComparer.Ordinal);

    /// <summary>A source the exporter serves as down from the start: one warning says why and how to fix it.</summary>
    internal SourceHealth Unopened(string source, EnvironmentException e)
    {
        reporter.Warn(_saidDown.Add(e.Message)
            ? $"{source} cannot be read, served as down (kvm_stat_source_up 0): {e.CauseAndFix}"
            : $"{source} cannot be read for the same cause, served as down (kvm_stat_source_up 0).");
        return new SourceHealth(source, "", e.Message);
    }

    private DebugfsSource OpenDebugfs(IFieldSelection selection, int pid)
    {
        DebugfsSource debugfs;
        try
        {
            debugfs = new DebugfsSource(paths, selection, pid, options.IncludePast, new StatFileReader(), reporter.Warn);
        }
        catch (DebugfsLockedException e) when (e.Lockdown)
        {
            throw new EnvironmentException(e.Message, BinaryStatsProbe.LockdownHint(paths, RunningVms()));
        }
        if (debugfs.LockedFields.Count > 0 && !(options.BinaryStats || options.UsesQmp))
            reporter.Warn(BinaryStatsProbe.LockdownHint(paths, RunningVms()));
        if (pid > 0 && !options.UseTracepoints && debugfs.FolderCountFor(pid) == 0)
        {
            debugfs.Dispose();
            throw new EnvironmentException(
                $"debugfs has no statistics folder for pid {pid} (no {paths.DebugfsKvm}/{pid}-*).",
                "Is it a KVM process? Without -d, tracepoints count per thread of any process.");
        }
        return debugfs;
    }

    /// <summary>The binary-statistics reader the options ask for (held descriptors and/or QMP), for all VMs or one.</summary>
    /// <param name="lenient">The exporter: a QMP socket that cannot be read is served as down with the reason, never an end.</param>
    private IVmStatsReader OpenBinaryReader(int pid, bool lenient = false)
    {
        var readers = new List<IVmStatsReader>();
        _held = null;
        if (options.BinaryStats)
            readers.Add(_held = new HeldDescriptorReader(paths, pid, time, reporter.Warn, Discovery));
        if (options.UsesQmp)
        {
            var qmp = new QmpReader(options.QmpSockets, paths, options.Delay, reporter.Warn, time, Discovery, reporter.VerboseOrNull, failFirstRead: !lenient);
            readers.Add(pid > 0 ? new OneVmReader(qmp, pid) : qmp);
        }
        return readers.Count == 1 ? readers[0] : new CombinedReader(readers);
    }

    /// <summary>The binary statistics as host fields; when no VM's can be read, an error that says why and what would.</summary>
    private BinaryStatsSource OpenBinaryFields(BinaryStatsCapture capture, IFieldSelection selection, int pid)
    {
        BinaryStatsSource source;
        try
        {
            source = new BinaryStatsSource(capture, selection, HowToReach(pid));
        }
        catch (EnvironmentException) when (_held?.LastCopyError is Interop.Errno.EPERM or Interop.Errno.EACCES && !options.UsesQmp)
        {
            throw new EnvironmentException(
                $"copying a VM's statistics descriptors is not permitted (pidfd_getfd: {Interop.Errno.Describe(_held.LastCopyError)}).",
                "Run kvm_stat as root, or give it CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.");
        }
        reporter.Verbose($"binary stats: {source.VmCount} VM(s)");
        return source;
    }

    /// <summary>Why no VM's binary statistics were reached, and what would reach them.</summary>
    private (string Cause, string? Fix) HowToReach(int pid)
    {
        if (options.UsesQmp)
            return (pid > 0 ? $"no QMP socket given belongs to process {pid}." : "no QMP socket answered.", null);
        // Where no VM can run, that is why, not QEMU's version.
        if (KvmAvailability.Probe(paths) is { Usable: false } kvm)
            return ($"no VM runs here: {kvm.Describe()}.", kvm.Fix);
        string who = pid > 0 ? $"process {pid} keeps no" : "no running VM keeps";
        return ($"{who} KVM binary statistics descriptors open (QEMU keeps them from version 8.1).", "For an older QEMU use its QMP socket: --qmp PATH or --qmp auto.");
    }

    /// <summary>
    /// Per-VM values: tracepoints on every VM when tracepoints are counted (this works under
    /// lockdown), else binary statistics, else debugfs folders.
    /// </summary>
    private IPerVmSource OpenPerVm(FieldSelection selection, ITracepointEngine? engine, BinaryStatsCapture? binary)
    {
        if (engine is not null)
            return engine.OpenPerVm();
        if (binary is not null)
            return new BinaryStatsSource(binary, selection, HowToReach(0));
        return new DebugfsSource(paths, selection, 0, options.IncludePast, new StatFileReader(), reporter.Warn);
    }

    /// <param name="vcpus">A child per vCPU of each of the VM's tracepoint fields, as this selection keeps them; null for none.</param>
    private IStatsSource OpenTracepoints(ITracepointEngine engine, int pid, FieldSelection? vcpus)
    {
        long started = time.GetTimestamp();
        IStatsSource source = engine.OpenHost(pid, vcpus);
        string where = source is TracepointSource perf
            ? (pid > 0 ? $"{perf.GroupCount} threads of pid {pid}" : $"{perf.GroupCount} CPUs") + $" ({source.Fields.Count * perf.GroupCount} counters)"
            : pid > 0 ? $"pid {pid}" : "every process";
        reporter.Verbose(string.Create(CultureInfo.InvariantCulture,
            $"tracepoints: {Tracefs.Root}, {source.Fields.Count} fields on {where} with {engine.Name}, opened in {time.GetElapsedTime(started).TotalMilliseconds:F1} ms"));
        return source;
    }

    /// <summary>-f help: the parent fields of the chosen sources.</summary>
    internal IReadOnlyList<string> ParentFieldNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (options.UseTracepoints)
            names.UnionWith(Tracefs.ListKvmEvents());
        // Perf counters time nothing: a run with --engine perf refuses --latency.
        if (options.UseTracepoints && options.Latency && options.Engine != TracepointEngineChoice.Perf)
            names.UnionWith(LatencySource.FamilyNames(kernel: TracepointEngines.LatencyEntry(paths) == BpfPrograms.KvmEntry));
        if (options.Debugfs)
        {
            using var debugfs = new DebugfsSource(paths, new FieldSelection(FieldFilter.Default, Children: false), 0, false, new StatFileReader(), reporter.Warn);
            names.UnionWith(debugfs.AllFieldNames);
        }
        if (options.BinaryStats || options.UsesQmp)
        {
            using var capture = new BinaryStatsCapture(OpenBinaryReader(0));
            var parents = new FieldSelection(FieldFilter.Default, Children: false);
            using BinaryStatsSource binary = OpenBinaryFields(capture, parents, 0);
            names.UnionWith(binary.Fields.Select(f => f.Name));
        }
        return [.. names];
    }
}
