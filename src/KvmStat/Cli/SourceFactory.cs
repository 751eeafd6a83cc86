using System.Globalization;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.BinaryStats;
using KvmStat.Sources.Debugfs;
using KvmStat.Sources.Tracing;
using KvmStat.Stats;
using KvmStat.Host;

namespace KvmStat.Cli;

/// <summary>
/// Builds the sources the options ask for (tracepoints, debugfs or both) for a field selection
/// and a VM, as often as the screen changes them. What is discovered once (tracefs, the field
/// catalogue) is kept.
/// </summary>
internal sealed class SourceFactory(Options options, HostPaths paths, Reporter reporter, CounterDescriptors counters, TimeProvider time)
{
    private readonly CounterDescriptors _counters = counters;

    private Tracefs? _tracefs;
    private IReadOnlyList<TracepointField>? _catalog;

    internal HostPaths Paths => paths;

    internal bool UsesTracepoints => options.UseTracepoints;

    internal bool UsesDebugfs => options.Debugfs;

    internal Tracefs Tracefs => _tracefs ??= Tracefs.Locate(paths);

    internal IReadOnlyList<TracepointField> Catalog
    {
        get
        {
            if (_catalog is null)
            {
                ExitReasonSet exitReasons = ExitReasonSetDetector.Detect(paths);
                if (exitReasons == ExitReasonSet.Unknown)
                    reporter.Verbose("exit reasons: neither VMX nor SVM found (no kvm_intel/kvm_amd module, no vmx/svm CPU flag); kvm_exit has no child fields");
                _catalog = TracepointCatalog.Discover(Tracefs, exitReasons);
            }
            return _catalog;
        }
    }

    private BpfException? _bpfUnavailable;
    private bool _engineAnnounced;

    /// <summary>
    /// The engine that counts tracepoints for a selection: BPF unless --engine perf says otherwise or
    /// the kernel refuses it (then perf counters, and one line says why); --engine bpf insists.
    /// Its BPF programs tell processes apart only when each VM's values are wanted: for the host's
    /// totals, or one VM's, a lighter program costs the guests less.
    /// </summary>
    internal ITracepointEngine OpenEngine(FieldSelection selection, bool eachVm, int pid)
    {
        if (options.Engine != TracepointEngineChoice.Perf && _bpfUnavailable is null)
        {
            try
            {
                var bpf = new BpfCounters(Tracefs, Selected(selection), paths, _counters, reporter.VerboseOrNull, reporter.Warn,
                    scope: BpfScope.For(eachVm, pid));
                Announce("counting with BPF programs (in the kernel)", warn: false);
                return new BpfEngine(bpf, paths, time);
            }
            catch (BpfException e) when (options.Engine == TracepointEngineChoice.Auto)
            {
                _bpfUnavailable = e;
            }
            catch (BpfException e)
            {
                throw new EnvironmentException($"BPF counting is not available: {Describe(e)}", "Count with perf counters instead: --engine perf (or leave --engine out).");
            }
        }
        if (_bpfUnavailable is BpfException why)
            Announce($"counting with perf counters: BPF is not available ({Describe(why)})", warn: true);
        return new PerfEngine(() => CounterSet(selection), () => CounterSet(selection with { Children = false }), paths, time);
    }

    private void Announce(string message, bool warn)
    {
        if (_engineAnnounced)
            return;
        _engineAnnounced = true;
        if (warn)
            reporter.Warn(message);
        else
            reporter.Verbose(message);
    }

    /// <summary>The step that failed and why; a verifier rejection with the last lines of its log.</summary>
    internal static string Describe(BpfException e)
    {
        if (e.Errno is Interop.Errno.EPERM or Interop.Errno.EACCES && string.IsNullOrWhiteSpace(e.VerifierLog))
            return $"{e.Message}: BPF needs CAP_BPF and CAP_PERFMON, or root";
        if (string.IsNullOrWhiteSpace(e.VerifierLog))
            return e.Message;
        string log = e.VerifierLog;
        // The verifier ends with statistics ("processed 2 insns ..."): what it refused comes before.
        string[] lines = [.. log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("processed ", StringComparison.Ordinal))];
        return $"{e.Message}; the verifier said: {string.Join(" | ", lines.TakeLast(3))}";
    }

    private List<TracepointField> Selected(FieldSelection selection)
    {
        List<TracepointField> selected = selection.Select(Catalog, f => f.Name, f => f.Parent);
        if (selected.Count == 0)
            throw new UsageException(
                $"no tracepoint field matches \"{selection.Filter.Pattern}\".",
                "List the available fields with: kvm_stat -f help");
        return selected;
    }

    /// <summary>A collector over every chosen source, for all VMs (pid 0) or one.</summary>
    /// <param name="binary">Include the binary statistics (the exporter reads those itself, per VM and vCPU).</param>
    /// <param name="engine">The tracepoint engine to count with (one is opened when none is given).</param>
    /// <param name="unopened">
    /// Where a source that cannot be opened is recorded, and the others opened all the same (when
    /// none opens, the collector has no fields); without it, the first such source ends the tool.
    /// </param>
    /// <param name="tracepoints">Count tracepoints, if the options ask for them.</param>
    internal StatsCollector Open(FieldSelection selection, int pid, bool binary = true, ITracepointEngine? engine = null,
        List<SourceHealth>? unopened = null, bool tracepoints = true)
    {
        var sources = new List<IStatsSource>(2);
        bool anyUnopened = false;
        void TryAdd(string name, Func<IStatsSource> open)
        {
            try
            {
                sources.Add(open());
            }
            catch (EnvironmentException e) when (unopened is not null)
            {
                anyUnopened = true;
                unopened.Add(Unopened(name, e));
            }
        }
        try
        {
            if (options.Debugfs)
                TryAdd("debugfs", () => OpenDebugfs(selection, pid));
            if (options.BinaryStats && binary)
                sources.Add(OpenHeldDescriptors(selection, pid));
            if (options.UsesQmp && binary)
                sources.Add(OpenQmp(selection, pid));
            if (options.UseTracepoints && tracepoints)
                TryAdd("tracepoints", () => OpenTracepoints(engine ?? OpenEngine(selection, eachVm: false, pid), pid));
        }
        catch
        {
            foreach (IStatsSource source in sources)
                source.Dispose();
            throw;
        }

        if (sources.Count == 0 && anyUnopened)
            return new StatsCollector(sources, time);
        if (sources.Sum(s => s.Fields.Count) == 0)
            throw new UsageException(
                $"no field matches \"{selection.Filter.Pattern}\".",
                "List the available fields with: kvm_stat -f help");
        return new StatsCollector(sources, time);
    }

    /// <summary>A source the exporter serves as down from the start: one warning says why and how to fix it.</summary>
    internal SourceHealth Unopened(string source, EnvironmentException e)
    {
        reporter.Warn($"{source} cannot be read, served as down (kvm_stat_source_up 0): {e.Message}{(e.Fix is null ? "" : " " + e.Fix)}");
        return new SourceHealth(source, "", e.Message);
    }

    private DebugfsSource OpenDebugfs(FieldSelection selection, int pid)
    {
        DebugfsSource debugfs;
        try
        {
            debugfs = new DebugfsSource(paths, selection, pid, options.IncludePast, new StatFileReader(), reporter.Warn);
        }
        catch (EnvironmentException e) when (e.Message.Contains("lockdown", StringComparison.Ordinal))
        {
            throw new EnvironmentException(e.Message, BinaryStatsProbe.LockdownHint(paths));
        }
        if (debugfs.LockedFields.Count > 0 && !(options.BinaryStats || options.UsesQmp))
            reporter.Warn(BinaryStatsProbe.LockdownHint(paths));
        if (pid > 0 && !options.UseTracepoints && debugfs.FolderCountFor(pid) == 0)
        {
            debugfs.Dispose();
            throw new EnvironmentException(
                $"debugfs has no statistics folder for pid {pid} (no {paths.DebugfsKvm}/{pid}-*).",
                "Is it a KVM process? Without -d, tracepoints count per thread of any process.");
        }
        return debugfs;
    }

    /// <summary>The raw binary-statistics reader the options ask for (held descriptors and/or QMP), or null.</summary>
    internal IVmStatsReader? OpenBinaryReader(int pid)
    {
        var readers = new List<IVmStatsReader>();
        if (options.BinaryStats)
            readers.Add(new HeldDescriptorReader(paths, pid, time));
        if (options.UsesQmp)
        {
            // The exporter serves a QMP socket it cannot read as down, with the reason; it never ends for one.
            var qmp = new QmpReader(options.QmpSockets, paths, options.Delay, reporter.Warn, time, reporter.VerboseOrNull, failFirstRead: false);
            readers.Add(pid > 0 ? new OneVmReader(qmp, pid) : qmp);
        }
        return readers.Count switch
        {
            0 => null,
            1 => readers[0],
            _ => new CombinedReader(readers),
        };
    }

    private BinaryStatsSource OpenHeldDescriptors(FieldSelection selection, int pid)
    {
        var reader = new HeldDescriptorReader(paths, pid, time);
        try
        {
            var source = new BinaryStatsSource(reader, selection, "");
            reporter.Verbose($"binary stats: descriptors held by {source.VmCount} VM(s)");
            return source;
        }
        catch (EnvironmentException)
        {
            reader.Dispose();
            string who = pid > 0 ? $"process {pid} keeps no" : "no running VM keeps";
            throw reader.LastCopyError is Interop.Errno.EPERM or Interop.Errno.EACCES
                ? new EnvironmentException(
                    $"copying a VM's statistics descriptors is not permitted (pidfd_getfd: {Interop.Errno.Describe(reader.LastCopyError)}).",
                    "Run kvm_stat as root, or give it CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.")
                : new EnvironmentException(
                    $"{who} KVM binary statistics descriptors open (QEMU keeps them from version 8.1).",
                    "For an older QEMU use its QMP socket: --qmp PATH or --qmp auto.");
        }
    }

    private BinaryStatsSource OpenQmp(FieldSelection selection, int pid)
    {
        var reader = new QmpReader(options.QmpSockets, paths, options.Delay, reporter.Warn, time, reporter.VerboseOrNull);
        try
        {
            var source = new BinaryStatsSource(pid > 0 ? new OneVmReader(reader, pid) : reader, selection,
                pid > 0 ? $"no QMP socket given belongs to process {pid}." : "no QMP socket answered.");
            reporter.Verbose($"binary stats: QMP of {source.VmCount} VM(s)");
            return source;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Per-VM values for the per-guest view: tracepoints on every VM thread when tracepoints are
    /// in use (this works under lockdown), else debugfs folders. Children are never needed there.
    /// </summary>
    internal IPerVmSource OpenPerVm(FieldSelection selection, bool children = false, ITracepointEngine? engine = null)
    {
        if (options.UseTracepoints)
            return (engine ?? OpenEngine(selection, eachVm: true, pid: 0)).OpenPerVm();
        var parents = selection with { Children = children && selection.Children };
        if (options.BinaryStats)
            return OpenHeldDescriptors(parents, 0);
        if (options.UsesQmp)
            return OpenQmp(parents, 0);
        return new DebugfsSource(paths, parents, 0, options.IncludePast, new StatFileReader(), reporter.Warn);
    }

    internal TracepointCounterSet CounterSet(FieldSelection selection) =>
        new(Tracefs, Selected(selection), _counters, reporter.VerboseOrNull);

    private IStatsSource OpenTracepoints(ITracepointEngine engine, int pid)
    {
        long started = time.GetTimestamp();
        IStatsSource source = engine.OpenHost(pid);
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
        {
            foreach (string name in Tracefs.ListKvmEvents())
                names.Add(name);
        }
        if (options.Debugfs)
        {
            using var debugfs = new DebugfsSource(paths, new FieldSelection(FieldFilter.Default, Children: false), 0, false, new StatFileReader(), _ => { });
            foreach (string name in debugfs.AllFieldNames)
                names.Add(name);
        }
        var parents = new FieldSelection(FieldFilter.All, Children: false);
        if (options.BinaryStats)
        {
            using BinaryStatsSource held = OpenHeldDescriptors(parents, 0);
            names.UnionWith(held.Fields.Select(f => f.Name));
        }
        if (options.UsesQmp)
        {
            using BinaryStatsSource qmp = OpenQmp(parents, 0);
            names.UnionWith(qmp.Fields.Select(f => f.Name));
        }
        return [.. names];
    }
}
