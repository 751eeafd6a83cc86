using KvmStat.Guests;
using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// The one sampling path: each call captures every reading of a run once (the engine's tables, the
/// binary statistics), then reads the host's sources and each VM's into the <see cref="Snapshot"/>
/// that every output formats. The mode decides when; nothing else samples (a binary-statistics
/// source learns its fields from one capture when it opens, and between samples the per-VM source
/// may follow VMs: <see cref="Follow"/>).
/// </summary>
internal sealed class Sampler : IDisposable
{
    private readonly SamplingSources _sources;
    private readonly StatsCollector _host;
    private readonly GuestStats? _guests;
    private readonly TimeProvider _time;
    private readonly Func<int, bool>? _isRunning;
    private readonly SourceHealth[] _opened;
    private readonly Func<int, string?> _nameOf;
    private readonly GuestFinder? _finder;

    /// <param name="isRunning">
    /// Whether the watched VM still runs, checked first at each sample: once it has exited, the
    /// snapshot keeps its last values (the screen's "Guest is DEAD"). Null: read on regardless.
    /// </param>
    /// <param name="warn">Where to say what per-vCPU counts leave out (<see cref="GoneVcpuBudget"/>).</param>
    /// <param name="finder">Where <paramref name="nameOf"/> asks: one look at the host's VMs answers a whole sample's questions (<see cref="GuestFinder.OneLook"/>).</param>
    internal Sampler(SamplingSources sources, WatchedVm? vm, Func<int, string?> nameOf, TimeProvider time, Func<int, bool>? isRunning = null,
        Action<string>? warn = null, GuestFinder? finder = null)
    {
        _finder = finder;
        _sources = sources;
        _time = time;
        _isRunning = isRunning;
        _nameOf = nameOf;
        _host = new StatsCollector(sources.Host, time);
        _guests = sources.PerVm is IPerVmSource perVm ? new GuestStats(perVm, nameOf, time, warn: warn) : null;
        Snapshot = new Snapshot(_host, _guests, sources.Binary, vm, sources.Latencies);
        _opened = OpenedSources(_host, _guests);
    }

    internal Snapshot Snapshot { get; }

    /// <summary>The engine that counts tracepoints ("BPF", "perf counters"), or null without tracepoints.</summary>
    internal string? EngineName => _sources.Engine?.Name;

    /// <summary>Whether there are per-VM values, whose source may have work between samples (<see cref="Follow"/>).</summary>
    internal bool FollowsVms => _sources.PerVm is not null;

    internal void Sample()
    {
        if (Snapshot.Vm is WatchedVm vm && _isRunning is not null && !(Snapshot.VmAlive = _isRunning(vm.Pid)))
            return;
        // One moment for the whole sample, taken as the captures begin: the interval of every value
        // and the record's time are the same, however long reading a large host takes.
        long now = _time.GetTimestamp();
        DateTimeOffset time = _time.GetLocalNow();
        using GuestFinder.Look look = _finder?.OneLook() ?? default;
        foreach (ICapture capture in _sources.Captures)
            capture.Capture();
        NameBinaryVms();
        // The VMs before the host: where the host's events beyond them are found by difference
        // (the perf engine), an event between the two reads is then in the host's count first.
        _guests?.Sample(now);
        _host.Sample(now);
        _guests?.AddOutside(_host);
        Snapshot.Health.Clear();
        Snapshot.Health.AddRange(_opened);
        _sources.Binary?.ReportHealth(Snapshot.Health);
        Snapshot.Health.AddRange(_sources.Unopened);
        Snapshot.Time = time;
    }

    /// <summary>Names each VM of the binary statistics once (a new process under a dead VM's pid is new blocks, named anew).</summary>
    private void NameBinaryVms()
    {
        if (_sources.Binary is not { } binary)
            return;
        // By index: a foreach over the interface would box an enumerator at every sample.
        IReadOnlyList<Sources.BinaryStats.VmStatsBlocks> vms = binary.Vms;
        for (int i = 0; i < vms.Count; i++)
            vms[i].Name ??= _nameOf(vms[i].Pid) ?? "";
    }

    /// <summary>
    /// Between samples: lets a per-VM source that counts only what it has opened pick up new VMs
    /// (the perf engine), or give back what exited VMs held (the BPF engine's slots).
    /// </summary>
    internal void Follow() => _sources.PerVm?.Follow();

    /// <summary>Starts the counters' totals again from zero (the screen's 'r').</summary>
    internal void ResetTotals() => _host.ResetTotals();

    /// <summary>The tracepoints and debugfs, when they were opened: once open, they stay readable.</summary>
    private static SourceHealth[] OpenedSources(StatsCollector host, GuestStats? guests)
    {
        var opened = new List<SourceHealth>(2);
        bool Has(FieldOrigin origin) => host.Fields.All.Any(f => f.Origin == origin) || guests?.Fields.All.Any(f => f.Origin == origin) == true;
        if (Has(FieldOrigin.Tracepoint) || Has(FieldOrigin.ExitLatency))
            opened.Add(new SourceHealth(SourceHealth.Tracepoints, "", null));
        if (Has(FieldOrigin.Debugfs))
            opened.Add(new SourceHealth(SourceHealth.Debugfs, "", null));
        return [.. opened];
    }

    public void Dispose() => _sources.Dispose();
}
