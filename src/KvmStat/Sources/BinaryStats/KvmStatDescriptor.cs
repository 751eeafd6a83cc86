namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// One statistic of KVM's binary statistics (a kvm_stats_desc, or an entry of QEMU's
/// query-stats-schemas): its name, type, unit, scale (base^exponent), and where its
/// <see cref="Size"/> u64 values are in the data block. What the unit and scale make of the values
/// is decided here and nowhere else: the unit's name (<see cref="UnitName"/>), the unit
/// percentiles are shown in (<see cref="Shown"/>), base units (<see cref="InBase"/>, and the name
/// they give, <see cref="ExportedName"/>), a histogram's buckets and percentiles. Every output
/// reads them here, so one statistic is one quantity in all of them.
/// </summary>
internal sealed record KvmStatDescriptor(
    string Name,
    KvmStatType Type,
    KvmStatUnit Unit,
    int Base,
    int Exponent,
    int Size,
    int Offset,
    int BucketSize)
{
    internal bool IsHistogram => Type is KvmStatType.LinearHistogram or KvmStatType.LogHistogram;

    /// <summary>The factor that turns a raw value into the unit (10^-9 for nanoseconds).</summary>
    internal double Scale => InUnit(1);

    /// <summary>
    /// A raw value in the unit. A negative exponent divides by base^-exponent, which is exact as a
    /// double for every power of ten KVM gives: 130000 ns is 0.00013 s, where times 10^-9 (itself
    /// not exact) would be 0.00013000000000000002.
    /// </summary>
    internal double InUnit(double raw) => Exponent < 0 ? raw / Math.Pow(Base, -Exponent) : raw * Math.Pow(Base, Exponent);

    /// <summary>The unit of a raw value, for structured outputs: "ns" for seconds × 10^-9, "bytes", "boolean"...; null for a plain count.</summary>
    internal string? UnitName => Unit switch
    {
        KvmStatUnit.Seconds when Base == 10 => Exponent switch
        {
            0 => "s",
            -3 => "ms",
            -6 => "us",
            -9 => "ns",
            _ => $"1e{Exponent}s",
        },
        KvmStatUnit.Seconds => $"2^{Exponent}s",
        KvmStatUnit.Bytes => Exponent == 0 ? "bytes" : $"{Base}^{Exponent}bytes",
        KvmStatUnit.Cycles => "cycles",
        KvmStatUnit.Boolean => "boolean",
        _ => null,
    };

    /// <summary>The unit a histogram's percentiles are shown in ("" for none) and the factor from raw values to it: seconds are shown in microseconds.</summary>
    internal (string Suffix, double Factor) Shown => Unit switch
    {
        KvmStatUnit.Seconds => ("us", Scale * 1e6),
        KvmStatUnit.Bytes => ("bytes", Scale),
        KvmStatUnit.Cycles => ("cycles", Scale),
        _ => ("", Scale),
    };

    /// <summary>Whether a value changes when put in base units (seconds, bytes): a time or size with a scale.</summary>
    internal bool ConvertsToBase => Unit is KvmStatUnit.Seconds or KvmStatUnit.Bytes && Scale != 1;

    /// <summary>A raw value in base units (seconds, bytes), as Prometheus wants it.</summary>
    internal double InBase(double raw) => ConvertsToBase ? InUnit(raw) : raw;

    /// <summary>The name the statistic takes in base units: halt_wait_ns (seconds × 10^-9) is halt_wait_seconds.</summary>
    internal string ExportedName
    {
        get
        {
            if (IsHistogram)
            {
                return Unit switch
                {
                    KvmStatUnit.Seconds => Name + "_seconds",
                    KvmStatUnit.Bytes => Name + "_bytes",
                    _ => Name,
                };
            }
            switch (Unit)
            {
                case KvmStatUnit.Seconds:
                    foreach (string abbreviation in s_timeSuffixes)
                    {
                        if (Name.EndsWith(abbreviation, StringComparison.Ordinal))
                            return Name[..^abbreviation.Length] + "_seconds";
                    }
                    return Name.EndsWith("_seconds", StringComparison.Ordinal) ? Name : Name + "_seconds";
                case KvmStatUnit.Bytes:
                    return Name.EndsWith("_bytes", StringComparison.Ordinal) ? Name : Name + "_bytes";
                default:
                    return Name;
            }
        }
    }

    private static readonly string[] s_timeSuffixes = ["_ns", "_us", "_ms", "_s"];

    /// <summary>
    /// The lower bound of histogram bucket <paramref name="bucket"/>, in raw units. A log2
    /// histogram's first bucket covers [0, 1) and bucket N ≥ 1 covers [2^(N-1), 2^N); a linear
    /// one's bucket N covers [N·bucket_size, (N+1)·bucket_size). The last bucket is open-ended.
    /// </summary>
    internal double BucketLow(int bucket) => Type == KvmStatType.LogHistogram
        ? bucket == 0 ? 0 : Math.Pow(2, bucket - 1)
        : (double)bucket * BucketSize;

    internal double BucketHigh(int bucket) => Type == KvmStatType.LogHistogram
        ? Math.Pow(2, bucket)
        : (double)(bucket + 1) * BucketSize;

    /// <summary>
    /// The upper bound of bucket <paramref name="bucket"/> of <paramref name="buckets"/> as served
    /// (+Inf for the last, open one): in the unit, scaled whatever the unit (as the percentiles the
    /// screen shows), which for seconds and bytes is the base unit.
    /// </summary>
    internal double BucketHighInBase(int bucket, int buckets) =>
        bucket == buckets - 1 ? double.PositiveInfinity : InUnit(BucketHigh(bucket));

    /// <summary>The value below which <paramref name="fraction"/> of a histogram's samples fall (<see cref="Percentiles.Of"/>), in raw units.</summary>
    internal double Percentile(ReadOnlySpan<ulong> buckets, double fraction) => Percentiles.Of(buckets, fraction, new Bounds(this));

    private readonly struct Bounds(KvmStatDescriptor descriptor) : Percentiles.IBounds
    {
        public double Low(int bucket) => descriptor.BucketLow(bucket);

        public double High(int bucket) => descriptor.BucketHigh(bucket);
    }
}
