using System.Globalization;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// A binary statistic's values in base units (seconds, bytes), as Prometheus wants them: the raw
/// value put in the unit its descriptor gives (<see cref="KvmStatDescriptor.InUnit"/>; its name:
/// <see cref="StatNames.Exported"/>). Every output that converts does it here, so one statistic is
/// one quantity.
/// </summary>
internal static class BaseUnits
{
    /// <summary>Whether the value changes when put in base units (a time or size with a scale).</summary>
    internal static bool Converts(KvmStatDescriptor descriptor) =>
        descriptor.Unit is KvmStatUnit.Seconds or KvmStatUnit.Bytes && descriptor.Scale != 1;

    /// <summary>A raw value in base units, as text (exact integers stay integers).</summary>
    internal static string Value(KvmStatDescriptor descriptor, long raw) =>
        Converts(descriptor) ? Float(descriptor.InUnit(raw)) : raw.ToString(CultureInfo.InvariantCulture);

    /// <summary>The upper bound of a histogram bucket in base units (+Inf for the last, open bucket).</summary>
    internal static double BucketUpperBound(KvmStatDescriptor descriptor, int bucket, int buckets) =>
        bucket == buckets - 1 ? double.PositiveInfinity : descriptor.InUnit(descriptor.BucketHigh(bucket));

    /// <summary>
    /// A floating-point value as Prometheus and OpenMetrics write it: the shortest that reads back
    /// the same, with a lower-case exponent (1.024e-06) as the Prometheus client libraries write a
    /// bucket's le, so that a query naming le="1.024e-06" finds it.
    /// </summary>
    internal static string Float(double value)
    {
        if (double.IsPositiveInfinity(value))
            return "+Inf";
        if (double.IsNegativeInfinity(value))
            return "-Inf";
        if (double.IsNaN(value))
            return "NaN";
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('E', StringComparison.Ordinal) ? text.Replace('E', 'e') : text;
    }
}
