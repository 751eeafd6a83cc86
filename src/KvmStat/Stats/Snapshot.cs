namespace KvmStat.Stats;

/// <summary>
/// What every output formats: the latest sample of the host's fields, of each VM where asked for,
/// and when it was taken. The mode's <see cref="Sampler"/> updates it in place once per interval
/// (no allocation); outputs only read it.
/// </summary>
internal sealed class Snapshot(IFieldValues host, IGuestValues? guests, WatchedVm? vm)
{
    internal IFieldValues Host { get; } = host;

    /// <summary>Per-VM values (JSON, the screen's guest view, the exporter), or null when not asked for.</summary>
    internal IGuestValues? Guests { get; } = guests;

    /// <summary>The watched VM with -p/-g, else null (all VMs).</summary>
    internal WatchedVm? Vm { get; } = vm;

    /// <summary>The local wall-clock time of the last sample (log timestamps).</summary>
    internal DateTimeOffset Time { get; set; }

    internal double IntervalSeconds => Host.IntervalSeconds;

    internal int SampleCount => Host.SampleCount;
}
