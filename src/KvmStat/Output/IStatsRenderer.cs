using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// An output that formats samples: batch, log (plain, CSV), JSON. The mode samples and calls it; it
/// never samples itself. <see cref="Render"/> runs once per interval and must not allocate.
/// </summary>
internal interface IStatsRenderer
{
    /// <summary>Called once before the first (baseline) sample: headers.</summary>
    void Start(Snapshot snapshot);

    /// <summary>Formats the interval the snapshot has just sampled.</summary>
    void Render(Snapshot snapshot);

    /// <summary>Called when the output's file has been reopened (SIGHUP, after logrotate).</summary>
    void Reopened(Snapshot snapshot);
}
