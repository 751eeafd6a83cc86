using KvmStat.Sources;

namespace KvmStat.Tests.Sources;

/// <summary>The one rule every histogram's percentiles follow, exit latencies and binary statistics alike.</summary>
public class PercentilesTests
{
    private readonly struct Tens : Percentiles.IBounds
    {
        public double Low(int bucket) => bucket * 10;

        public double High(int bucket) => (bucket + 1) * 10;
    }

    [Fact]
    public void APercentileIsInterpolatedInItsBucketAndTheOpenLastBucketGivesItsLowerBound()
    {
        // 10 samples in [0, 10), 10 in [10, 20), 0 in [20, 30), 5 in the open [30, ...).
        ulong[] buckets = [10, 10, 0, 5];
        Assert.Equal(5, Percentiles.Of(buckets, 0.2, default(Tens)), 9);
        Assert.Equal(15, Percentiles.Of(buckets, 0.6, default(Tens)), 9);
        Assert.Equal(30, Percentiles.Of(buckets, 0.99, default(Tens)), 9);
        Assert.Equal(0, Percentiles.Of([0, 0, 0], 0.5, default(Tens)));
    }

    /// <summary>Both kinds of histogram take the rule: the same buckets, the same percentiles where their bounds agree.</summary>
    [Fact]
    public void ExitLatenciesFollowTheRule()
    {
        var buckets = new ulong[ExitLatencies.Buckets];
        buckets[10] = 4; // [1024, 2048) ns, 1536 ns on average
        Assert.Equal(1024 + 512, ExitLatencies.Percentile(buckets, 0.5, 4 * 1536), 9);
        buckets[ExitLatencies.Buckets - 1] = 100;
        Assert.Equal(Math.Pow(2, ExitLatencies.Buckets - 1), ExitLatencies.Percentile(buckets, 0.99, ulong.MaxValue), 9);
    }

    /// <summary>
    /// 100 exits of 500 µs fill the log2 bucket [262, 524) µs near its end: read from the buckets
    /// alone their median would be 393 µs, below every one of them; their exact time places it.
    /// </summary>
    [Fact]
    public void TheExactSumPlacesPercentilesInsideTheirBucket()
    {
        var buckets = new ulong[ExitLatencies.Buckets];
        buckets[18] = 100;
        ulong nanoseconds = 100 * 500_000;
        Assert.Equal(500_000, ExitLatencies.Percentile(buckets, 0.5, nanoseconds), 0);
        double p90 = ExitLatencies.Percentile(buckets, 0.9, nanoseconds), p99 = ExitLatencies.Percentile(buckets, 0.99, nanoseconds);
        Assert.InRange(p90, 500_000, 1 << 19);
        Assert.InRange(p99, p90, 1 << 19);

        // Two buckets: 90 exits of 20 µs in [16, 33) µs and 10 of 500 µs; the median is among the 20 µs ones.
        buckets[14] = 90;
        buckets[18] = 10;
        nanoseconds = 90 * 20_000 + 10 * 500_000;
        double p50 = ExitLatencies.Percentile(buckets, 0.5, nanoseconds);
        Assert.InRange(p50, 1 << 14, 1 << 15);
        Assert.InRange(ExitLatencies.Percentile(buckets, 0.99, nanoseconds), 1 << 18, 1 << 19);
        // Without the sum (binary statistics keep none) a bucket is spread evenly over its whole width.
        Assert.Equal(5, Percentiles.Of([10, 10], 0.25, default(Tens)), 9);
    }

    /// <summary>A vCPU's histogram ends at 2^33 ns, its last bucket open: a percentile there is that bound, and JSON gives it no upper bound.</summary>
    [Fact]
    public void AShorterHistogramsLastBucketIsOpen()
    {
        var histogram = new LatencyHistogram(34);
        histogram.Buckets[33] = 5;
        histogram.Nanoseconds = 5 * 600_000_000_000UL;
        Assert.Equal(Math.Pow(2, 33), ExitLatencies.Percentile(histogram.Buckets, 0.5, histogram.Nanoseconds), 9);
        Assert.True(double.IsPositiveInfinity(ExitLatencies.BucketHigh(33, 34)));
        Assert.Equal(Math.Pow(2, 34), ExitLatencies.BucketHigh(33), 9);
    }
}
