namespace KvmStat.Sources;

/// <summary>
/// The percentiles every histogram is shown with (binary statistics and exit latencies, in every
/// output), and the one rule that reads them from buckets.
/// </summary>
internal static class Percentiles
{
    internal static readonly (string Label, double Fraction)[] Shown = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99)];

    /// <summary>Where a histogram's buckets begin and end (a struct: reading them allocates nothing).</summary>
    internal interface IBounds
    {
        double Low(int bucket);

        double High(int bucket);
    }

    /// <summary>
    /// The value below which <paramref name="fraction"/> of the samples fall, interpolated linearly
    /// inside its bucket; the last bucket is open, so a percentile there is its lower bound. 0
    /// without samples.
    /// </summary>
    internal static double Of<TBounds>(ReadOnlySpan<ulong> buckets, double fraction, TBounds bounds)
        where TBounds : struct, IBounds
    {
        ulong total = 0;
        foreach (ulong count in buckets)
            total += count;
        if (total == 0)
            return 0;
        double rank = fraction * total, before = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            if (buckets[i] == 0)
                continue;
            if (before + buckets[i] >= rank)
            {
                double low = bounds.Low(i);
                if (i == buckets.Length - 1)
                    return low;
                return low + (bounds.High(i) - low) * Math.Clamp((rank - before) / buckets[i], 0, 1);
            }
            before += buckets[i];
        }
        return bounds.Low(buckets.Length - 1);
    }
}
