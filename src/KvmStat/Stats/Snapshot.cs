using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Stats;

/// <summary>
/// What every output formats: the latest sample of the host's fields, of each VM where asked for,
/// of every VM's binary statistics where read, the health of each source, and when it was taken.
/// The run's <see cref="Sampler"/> updates it in place once per interval; outputs only read it.
/// </summary>
internal sealed class Snapshot(IFieldValues host, IGuestValues? guests, BinaryStatsCapture? binary, WatchedVm? vm, ExitLatencies? latencies = null)
{
    /// <summary>Exit latencies, cumulative, for the host and each running VM, or null when not measured.</summary>
    internal ExitLatencies? Latencies { get; } = latencies;

    internal IFieldValues Host { get; } = host;

    /// <summary>Per-VM values (JSON, the screen's guest view, the exporter), or null when not asked for.</summary>
    internal IGuestValues? Guests { get; } = guests;

    /// <summary>Each VM's binary statistics as read at this sample (cumulative since each VM started), or null when not asked for.</summary>
    internal IReadOnlyList<VmStatsBlocks>? Binary => binary?.Vms;

    /// <summary>The watched VM with -p/-g, else null (all VMs).</summary>
    internal WatchedVm? Vm { get; } = vm;

    /// <summary>False once the watched VM has exited (its last numbers stay).</summary>
    internal bool VmAlive { get; set; } = true;

    /// <summary>Each source (and QMP socket): readable at this sample, or why not.</summary>
    internal List<SourceHealth> Health { get; } = [];

    /// <summary>The local wall-clock time of the last sample (log timestamps).</summary>
    internal DateTimeOffset Time { get; set; }

    internal double IntervalSeconds => Host.IntervalSeconds;

    internal int SampleCount => Host.SampleCount;
}
