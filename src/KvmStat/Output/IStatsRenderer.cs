using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// An output that shows samples: batch, log (plain, CSV), JSON, the screen. The modes drive it;
/// it only formats. <see cref="Render"/> runs once per interval and must not allocate.
/// </summary>
internal interface IStatsRenderer
{
    /// <summary>Called once before the first (baseline) sample: headers, and whatever the renderer opens itself.</summary>
    void Start(StatsCollector stats);

    /// <summary>Shows the interval that <paramref name="stats"/> has just sampled.</summary>
    void Render(StatsCollector stats, DateTime timestamp);

    /// <summary>Called when the output's file has been reopened (SIGHUP, after logrotate).</summary>
    void Reopened(StatsCollector stats);
}
