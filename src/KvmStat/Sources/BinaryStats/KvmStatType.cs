namespace KvmStat.Sources.BinaryStats;

/// <summary>KVM_STATS_TYPE_*: how a statistic behaves.</summary>
internal enum KvmStatType
{
    Cumulative = 0,
    Instant = 1,
    Peak = 2,
    LinearHistogram = 3,
    LogHistogram = 4,
}
