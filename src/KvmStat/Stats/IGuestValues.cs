using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>Each running VM's fields at the last sample, as outputs see them: read-only.</summary>
internal interface IGuestValues
{
    IReadOnlyList<StatField> Fields { get; }

    /// <summary>The running VMs, sorted by pid.</summary>
    IReadOnlyList<GuestStat> Guests { get; }

    /// <summary>Where the engine tells them (BPF): the events outside VMs, and those of VMs that exited; else empty.</summary>
    IReadOnlyList<GuestStat> Others { get; }

    double IntervalSeconds { get; }

    int SampleCount { get; }
}
