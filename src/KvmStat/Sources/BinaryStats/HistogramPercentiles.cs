namespace KvmStat.Sources.BinaryStats;

/// <summary>Percentiles of a KVM histogram, and the unit they are shown in.</summary>
internal static class HistogramPercentiles
{
    /// <summary>The unit suffix and the factor from raw values to it: seconds are shown in microseconds.</summary>
    internal static (string Suffix, double Factor) DisplayUnit(KvmStatDescriptor descriptor) => descriptor.Unit switch
    {
        KvmStatUnit.Seconds => ("us", descriptor.Scale * 1e6),
        KvmStatUnit.Bytes => ("bytes", descriptor.Scale),
        KvmStatUnit.Cycles => ("cycles", descriptor.Scale),
        _ => ("", descriptor.Scale),
    };

    /// <summary>The unit of a raw value, for structured outputs: "ns" for seconds × 10^-9, "bytes", "boolean"...</summary>
    internal static string? RawUnit(KvmStatDescriptor descriptor) => descriptor.Unit switch
    {
        KvmStatUnit.Seconds when descriptor.Base == 10 => descriptor.Exponent switch
        {
            0 => "s",
            -3 => "ms",
            -6 => "us",
            -9 => "ns",
            _ => $"1e{descriptor.Exponent}s",
        },
        KvmStatUnit.Seconds => $"2^{descriptor.Exponent}s",
        KvmStatUnit.Bytes => descriptor.Exponent == 0 ? "bytes" : $"{descriptor.Base}^{descriptor.Exponent}bytes",
        KvmStatUnit.Cycles => "cycles",
        KvmStatUnit.Boolean => "boolean",
        _ => null,
    };

    /// <summary>
    /// The value below which <paramref name="fraction"/> of the samples fall, interpolated linearly
    /// inside its bucket (the open last bucket gives its lower bound); 0 without samples.
    /// </summary>
    internal static double Percentile(KvmStatDescriptor descriptor, ReadOnlySpan<ulong> buckets, double fraction)
    {
        ulong total = 0;
        foreach (ulong count in buckets)
            total += count;
        if (total == 0)
            return 0;
        double rank = fraction * total;
        double before = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            if (buckets[i] == 0)
                continue;
            if (before + buckets[i] >= rank)
            {
                double low = descriptor.BucketLow(i);
                if (i == buckets.Length - 1)
                    return low;
                double high = descriptor.BucketHigh(i);
                return low + (high - low) * Math.Clamp((rank - before) / buckets[i], 0, 1);
            }
            before += buckets[i];
        }
        return descriptor.BucketLow(buckets.Length - 1);
    }
}
