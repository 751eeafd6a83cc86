namespace KvmStat.Sources.BinaryStats;

/// <summary>KVM_STATS_UNIT_*.</summary>
internal enum KvmStatUnit
{
    None = 0,
    Bytes = 1,
    Seconds = 2,
    Cycles = 3,
    Boolean = 4,
}
