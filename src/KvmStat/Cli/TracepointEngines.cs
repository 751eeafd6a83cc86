using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// Opens the engine that counts tracepoints for a field selection: BPF unless --engine perf says
/// otherwise or the kernel cannot (then perf counters, and one line says why); --engine bpf
/// insists. What is discovered once (tracefs, the field catalogue, what the kernel offers BPF) is kept.
/// </summary>
internal sealed class TracepointEngines(TracepointEngineChoice choice, HostPaths paths, Reporter reporter, CounterDescriptors counters, VmDiscovery discovery)
{
    private Tracefs? _tracefs;
    private IReadOnlyList<TracepointField>? _catalog;
    private BpfException? _bpfUnavailable;
    private bool _bpfProbed;
    private bool? _latencyProbed;

    /// <summary>Why --latency times nothing, once an engine opened without latencies (said then on stderr); null while they are measured.</summary>
    internal string? LatencyRefusal { get; private set; }
    private string? _announced;

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

    /// <summary>
    /// The engine for a selection. Its BPF programs tell processes apart only when each VM's values
    /// are wanted: for the host's totals, or one VM's, a lighter program costs the guests less.
    /// Children cost the BPF engine nothing: where -f chooses some reasons of a tracepoint it counts
    /// them all, and shows the chosen ones.
    /// </summary>
    /// <param name="latency">Measure exit latencies too (BPF only: with perf counters one line says they are not measured).</param>
    /// <param name="vcpus">Count per vCPU thread too (BPF only, likewise).</param>
    /// <param name="vcpuLabels">With -p and --vcpus, the VM's vCPUs (<see cref="VcpuLabels"/>): an -f that names their children keeps their parents.</param>
    internal ITracepointEngine Open(FieldSelection selection, bool eachVm, int pid, bool latency = false, bool vcpus = false, IReadOnlyList<string>? vcpuLabels = null)
    {
        if (choice != TracepointEngineChoice.Perf && _bpfUnavailable is null)
        {
            // tracefs first: without it neither engine counts, and that is the error to give; and a
            // selection of nothing before any fallback is said. With latencies -f may choose only
            // latency fields (-f user_exit_p99): then no tracepoint is shown.
            List<TracepointField> selected = Selected(selection with { Children = true }, allowNone: latency, vcpuLabels: vcpuLabels);
            try
            {
                if (!_bpfProbed)
                {
                    BpfSupport.Require();
                    _bpfProbed = true;
                }
                string? entry = latency && CanTimeExits() ? LatencyEntry(paths) : null;
                if (entry is null && selected.Count == 0)
                    // -f chose exit latencies alone, and they are not measured.
                    throw SourceFactory.NoTracepointField(selection.Filter, SourceFactory.NoFieldFix(selection.Filter, latency));
                (List<TracepointField> fields, int shown) = BpfTableFields(Catalog, selected, entry);
                var engine = new BpfEngine(new BpfCounters(Tracefs, fields, paths, counters, reporter.VerboseOrNull, reporter.Warn, scope: BpfScope.For(eachVm, pid),
                    latencyEntry: entry, vcpus: vcpus, shown: shown), discovery);
                Announce("counting with BPF programs (in the kernel)", warn: false);
                return engine;
            }
            catch (BpfException e) when (choice == TracepointEngineChoice.Auto)
            {
                _bpfUnavailable = e;
            }
            catch (BpfException e)
            {
                throw BpfRequired(e);
            }
        }
        if (_bpfUnavailable is BpfException why)
        {
            if (latency)
                LatencyRefusal = $"BPF is not available ({Describe(why)})";
            // Said once the run has started (SayNotices, from Session.Open): where the perf counters cannot
            // open either, or a check refuses the run, the error that ends it is what to read, not a line on an engine that never counted.
            _fallback = $"counting with perf counters: BPF is not available ({Describe(why)}){(latency ? "; exit latencies are not measured" : "")}" +
                $"{(vcpus ? "; nothing is counted per vCPU" : "")}";
            // An -f of vCPU children alone (kvm_pio\(vcpu0) keeps nothing perf counters count.
            if (vcpuLabels is { Count: > 0 } && !latency && Selected(selection with { Children = true }, allowNone: true).Count == 0)
                throw new EnvironmentException(
                    $"-f \"{Text.EscapeControls(selection.Pattern)}\" names only vCPU children, which the BPF engine alone counts, and BPF is not available ({Describe(why)}).",
                    "Name the fields themselves (such as -f kvm_pio), or let BPF count (kvm_stat --doctor says why it does not).");
        }
        else if (latency)
            throw new UsageException("exit latencies are timed by the BPF engine only.", "Leave out --engine perf.");
        else if (vcpus)
            throw new UsageException("per-vCPU counts (--vcpus) are counted by the BPF engine only.", "Leave out --engine perf.");
        return new PerfEngine(() => CounterSet(selection, latency), () => CounterSet(selection with { Children = false }, latency), paths, discovery, reporter.Warn);
    }

    /// <summary>
    /// Whether this kernel has what exit latencies need beyond counting; where it lacks it, one line
    /// says so and the engine counts without them (on a kernel that counts, latencies are no reason
    /// to fall back to perf counters, which time nothing).
    /// </summary>
    private bool CanTimeExits()
    {
        if (_latencyProbed is bool known)
            return known;
        BpfException? refusal = BpfSupport.LatencyRefusal();
        if (refusal is not null)
        {
            LatencyRefusal = Describe(refusal);
            // Said once the run has started (SayNotices): a run refused at start gets its two lines alone.
            _latencyNotice = $"exit latencies are not measured: {LatencyRefusal}; counting goes on with BPF programs";
        }
        _latencyProbed = refusal is null;
        return _latencyProbed.Value;
    }

    /// <summary>Why a run with --engine bpf stops where BPF cannot count (--doctor says the same).</summary>
    internal static EnvironmentException BpfRequired(BpfException e) =>
        new($"BPF counting is not available: {Describe(e)}.", "Count with perf counters instead: --engine perf (or leave --engine out).");

    /// <summary>
    /// What ends an exit: where the kernel traces VM entries (VMX, SVM, arm64) kvm_entry, which also
    /// times exits handled in the kernel; elsewhere (a paravirtual KVM whose kvm_entry never
    /// fires) the vCPU's next ioctl(KVM_RUN), seen on sys_enter, which times exits to user space only.
    /// </summary>
    /// <remarks>--doctor reports this same choice.</remarks>
    internal static string LatencyEntry(HostPaths paths) =>
        ExitReasonSetDetector.Detect(paths) == ExitReasonSet.Unknown ? BpfPrograms.SyscallEntry : BpfPrograms.KvmEntry;

    /// <summary>Why the perf engine counts where BPF could not, to be said once the run has started.</summary>
    private string? _fallback;

    /// <summary>Why exit latencies are not measured where BPF counts, to be said once, when the run has started.</summary>
    private string? _latencyNotice;

    /// <summary>What the engine has to say once a run has started: why perf counters count where BPF could not, why exit latencies are not measured.</summary>
    internal void SayNotices()
    {
        if (_fallback is string message)
            Announce(message, warn: true);
        if (_latencyNotice is string latency)
        {
            _latencyNotice = null;
            reporter.Warn(latency);
        }
    }

    /// <summary>Says which engine counts, once for each change: the screen's b can take a per-VM engine where the first was BPF.</summary>
    private void Announce(string message, bool warn)
    {
        if (_announced == message)
            return;
        _announced = message;
        if (warn)
            reporter.Warn(message);
        else
            reporter.Verbose(message);
    }

    /// <summary>The step that failed and why; a verifier rejection with the last lines of its log.</summary>
    /// <param name="lockedMemoryLimit">The locked-memory limit that could not be lifted (default: <see cref="BpfSupport.LockedMemoryLimit"/>).</param>
    /// <param name="root">Whether this process is root (default: whether it is), which has every capability BPF needs.</param>
    internal static string Describe(BpfException e, ulong? lockedMemoryLimit = null, bool? root = null)
    {
        lockedMemoryLimit ??= BpfSupport.LockedMemoryLimit;
        root ??= Environment.IsPrivilegedProcess;
        const string Lift = "LimitMEMLOCK=infinity in a unit, ulimit -l unlimited in a shell";
        // Root has every capability BPF needs: what refuses it there is the locked-memory limit.
        if (e.Errno is Interop.Errno.EPERM && string.IsNullOrWhiteSpace(e.VerifierLog) && lockedMemoryLimit is ulong rootLimit && root == true)
            return $"{e.Message}: before Linux 5.11 BPF maps must fit the locked-memory limit, {rootLimit >> 10} KiB here ({Lift})";
        if (e.Errno is Interop.Errno.EPERM or Interop.Errno.EACCES && string.IsNullOrWhiteSpace(e.VerifierLog))
            return $"{e.Message}: BPF needs CAP_BPF and CAP_PERFMON, or root" + (lockedMemoryLimit is ulong limit
                ? $"; before Linux 5.11 its maps must also fit the locked-memory limit, {limit >> 10} KiB here ({Lift})"
                : "");
        if (string.IsNullOrWhiteSpace(e.VerifierLog))
            return e.Message;
        // The verifier ends with statistics ("processed 2 insns ..."): what it refused comes before.
        string[] lines = [.. e.VerifierLog.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("processed ", StringComparison.Ordinal))];
        return $"{e.Message}; the verifier said: {string.Join(" | ", lines.TakeLast(3))}";
    }

    /// <summary>
    /// The fields a BPF table counts for the fields a selection keeps: those (the first
    /// <c>Shown</c>, which are shown), then the other reasons of their tracepoints (children cost
    /// the engine nothing), then with latencies ended by <paramref name="entry"/> the fields of the
    /// tracepoints whose programs stamp exits (kvm_userspace_exit, and kvm_exit where kvm_entry ends
    /// exits: each with every reason) that are not yet counted. --doctor loads the same table.
    /// </summary>
    internal static (List<TracepointField> Fields, int Shown) BpfTableFields(IReadOnlyList<TracepointField> catalog, List<TracepointField> selected, string? entry)
    {
        List<TracepointField> fields = [.. selected, .. TracepointCatalog.UnselectedSiblings(selected, catalog)];
        if (entry is not null)
            fields.AddRange([.. catalog.Where(f => BpfPrograms.StampsExits(f.Tracepoint, entry) && !fields.Exists(s => s.Name == f.Name))]);
        return (fields, selected.Count);
    }

    /// <summary>
    /// The catalogue's fields a selection keeps: those it names, the parents of children it names,
    /// and, given the labels of a VM's vCPUs (-p with --vcpus), the parents of vCPU children it
    /// names (kvm_pio(vcpu0), made as the VM's source opens), as a child brings its parent.
    /// </summary>
    internal static List<TracepointField> SelectFields(FieldSelection selection, IReadOnlyList<TracepointField> catalog, IReadOnlyList<string> vcpuLabels)
    {
        List<TracepointField> selected = selection.Select(catalog, f => f.Name, f => f.Parent);
        if (vcpuLabels.Count == 0)
            return selected;
        var kept = new HashSet<TracepointField>(selected, ReferenceEqualityComparer.Instance);
        return [.. catalog.Where(f => kept.Contains(f) || (!f.IsChild && vcpuLabels.Any(label => selection.Filter.Matches(StatField.ChildName(f.Name, label)))))];
    }

    /// <summary>Whether the selection keeps any tracepoint field (a child brings its parent).</summary>
    /// <param name="vcpuLabels">With -p and --vcpus, the VM's vCPUs (<see cref="VcpuLabels"/>).</param>
    internal bool Selects(FieldSelection selection, IReadOnlyList<string>? vcpuLabels = null) =>
        Selected(selection with { Children = true }, allowNone: true, vcpuLabels: vcpuLabels).Count > 0;

    /// <summary>The labels of VM <paramref name="vcpusOf"/>'s vCPUs (none for 0), for an -f that names vCPU children (--doctor asks too).</summary>
    internal static IReadOnlyList<string> VcpuLabels(HostPaths paths, int vcpusOf) => vcpusOf > 0 ? VcpuThreads.Labels(new VcpuThreads(paths).List(vcpusOf)) : [];

    /// <param name="latency">--latency was given (for the fix of a selection of latencies alone).</param>
    private List<TracepointField> Selected(FieldSelection selection, bool allowNone = false, bool latency = false, IReadOnlyList<string>? vcpuLabels = null)
    {
        List<TracepointField> selected = SelectFields(selection, Catalog, vcpuLabels ?? []);
        if (selected.Count == 0 && !allowNone)
            throw SourceFactory.NoTracepointField(selection.Filter, SourceFactory.NoFieldFix(selection.Filter, latency));
        return selected;
    }

    private TracepointCounterSet CounterSet(FieldSelection selection, bool latency) =>
        new(Tracefs, Selected(selection, latency: latency), counters, reporter.VerboseOrNull);
}
