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
    /// The value below which <paramref name="fraction"/> of the samples fall, always inside the
    /// bucket that holds that rank. Inside it the bucket's samples are taken as spread evenly: over
    /// the whole bucket where only the buckets are known; where the exact sum of the samples is
    /// known too (<paramref name="sum"/>, as exit latencies keep it), over the widest part of each
    /// bucket whose middle sits at the same place in every bucket so that the buckets add up to that
    /// sum (a log2 bucket twice as wide as its start would put 100 exits of 500 µs at a median of
    /// 393 µs; the sum puts it at 500). The last bucket is open, so a percentile there is its lower
    /// bound. 0 without samples.
    /// </summary>
    internal static double Of<TBounds>(ReadOnlySpan<ulong> buckets, double fraction, TBounds bounds, double? sum = null)
        where TBounds : struct, IBounds
    {
        ulong total = 0;
        foreach (ulong count in buckets)
            total += count;
        if (total == 0)
            return 0;
        double middle = sum is double known ? Middle(buckets, bounds, known) : 0.5;
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
                double width = bounds.High(i) - low;
                // The widest even spread inside the bucket whose middle is at `middle` of its width.
                double start = middle <= 0.5 ? low : low + (2 * middle - 1) * width;
                double spread = (middle <= 0.5 ? 2 * middle : 2 - 2 * middle) * width;
                return start + spread * Math.Clamp((rank - before) / buckets[i], 0, 1);
            }
            before += buckets[i];
        }
        return bounds.Low(buckets.Length - 1);
    }

    /// <summary>
    /// Where in their buckets (0 their start, 1 their end) the samples' means must sit, the same place
    /// in every bucket, for the buckets to add up to <paramref name="sum"/>; the middle (0.5) where
    /// the open last bucket holds samples (its width is unknown).
    /// </summary>
    private static double Middle<TBounds>(ReadOnlySpan<ulong> buckets, TBounds bounds, double sum)
        where TBounds : struct, IBounds
    {
        if (buckets[^1] != 0)
            return 0.5;
        double starts = 0, widths = 0;
        for (int i = 0; i < buckets.Length - 1; i++)
        {
            if (buckets[i] == 0)
                continue;
            double low = bounds.Low(i);
            starts += buckets[i] * low;
            widths += buckets[i] * (bounds.High(i) - low);
        }
        return widths > 0 ? Math.Clamp((sum - starts) / widths, 0, 1) : 0.5;
    }
}
