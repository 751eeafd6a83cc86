using System.Globalization;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// A binary statistic in base units (seconds, bytes), as Prometheus wants names and values: the
/// raw value times the scale its descriptor gives (halt_wait_ns, seconds × 10^-9, becomes
/// halt_wait_seconds). Every output that converts does it here, so one statistic is one quantity.
/// </summary>
internal static class BaseUnits
{
    /// <summary>The statistic's name with its base unit: "_seconds" for a time, "_bytes" for a size.</summary>
    internal static string Name(string name, KvmStatDescriptor descriptor)
    {
        switch (descriptor.Unit)
        {
            case KvmStatUnit.Seconds:
                foreach (string abbreviation in new[] { "_ns", "_us", "_ms", "_s" })
                {
                    if (name.EndsWith(abbreviation, StringComparison.Ordinal))
                        return name[..^abbreviation.Length] + "_seconds";
                }
                return name.EndsWith("_seconds", StringComparison.Ordinal) ? name : name + "_seconds";
            case KvmStatUnit.Bytes:
                return name.EndsWith("_bytes", StringComparison.Ordinal) ? name : name + "_bytes";
            default:
                return name;
        }
    }

    /// <summary>The suffix a histogram's name takes for its unit.</summary>
    internal static string HistogramSuffix(KvmStatDescriptor descriptor) => descriptor.Unit switch
    {
        KvmStatUnit.Seconds => "_seconds",
        KvmStatUnit.Bytes => "_bytes",
        _ => "",
    };

    /// <summary>Whether the value changes when put in base units (a time or size with a scale).</summary>
    internal static bool Converts(KvmStatDescriptor descriptor) =>
        descriptor.Unit is KvmStatUnit.Seconds or KvmStatUnit.Bytes && descriptor.Scale != 1;

    /// <summary>A raw value in base units, as text (exact integers stay integers).</summary>
    internal static string Value(KvmStatDescriptor descriptor, long raw) =>
        Converts(descriptor) ? Float(raw * descriptor.Scale) : raw.ToString(CultureInfo.InvariantCulture);

    /// <summary>The upper bound of a histogram bucket in base units (+Inf for the last, open bucket).</summary>
    internal static double BucketUpperBound(KvmStatDescriptor descriptor, int bucket, int buckets) =>
        bucket == buckets - 1 ? double.PositiveInfinity : descriptor.BucketHigh(bucket) * descriptor.Scale;

    /// <summary>A floating-point value as Prometheus and OpenMetrics write it.</summary>
    internal static string Float(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);
}
