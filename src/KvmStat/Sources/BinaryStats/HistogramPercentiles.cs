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

    /// <summary>The value below which <paramref name="fraction"/> of the samples fall (<see cref="Percentiles.Of"/>), in the statistic's unit.</summary>
    internal static double Percentile(KvmStatDescriptor descriptor, ReadOnlySpan<ulong> buckets, double fraction) =>
        Percentiles.Of(buckets, fraction, new DescriptorBounds(descriptor));

    private readonly struct DescriptorBounds(KvmStatDescriptor descriptor) : Percentiles.IBounds
    {
        public double Low(int bucket) => descriptor.BucketLow(bucket);

        public double High(int bucket) => descriptor.BucketHigh(bucket);
    }
}
