using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>Each running VM's fields at the last sample, as outputs see them: read-only.</summary>
internal interface IGuestValues
{
    IReadOnlyList<StatField> Fields { get; }

    /// <summary>The running VMs, sorted by pid.</summary>
    IReadOnlyList<GuestStat> Guests { get; }

    double IntervalSeconds { get; }

    int SampleCount { get; }
}
