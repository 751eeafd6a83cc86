namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// One statistic of KVM's binary statistics (a kvm_stats_desc, or an entry of QEMU's
/// query-stats-schemas): its name, type, unit, scale (base^exponent), and where its
/// <see cref="Size"/> u64 values are in the data block.
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
}
