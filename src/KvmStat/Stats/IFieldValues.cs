using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>The host's fields at the last sample, as outputs see them: read-only.</summary>
internal interface IFieldValues
{
    FieldSet Fields { get; }

    /// <summary>Counters: since the start (or the last reset); gauges: the value.</summary>
    ReadOnlySpan<long> Totals { get; }

    /// <summary>Since the previous sample.</summary>
    ReadOnlySpan<long> Deltas { get; }

    /// <summary>Seconds between the last two samples (0 after the first).</summary>
    double IntervalSeconds { get; }

    int SampleCount { get; }
}
