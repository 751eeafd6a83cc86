namespace KvmStat.Sources.BinaryStats;

/// <summary>A stats descriptor or QMP answer that does not follow the format: reported, never a crash.</summary>
internal sealed class KvmStatsFormatException(string message) : Exception(message);
