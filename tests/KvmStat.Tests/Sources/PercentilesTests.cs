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
        buckets[10] = 4; // [1024, 2048) ns
        Assert.Equal(1024 + 512, ExitLatencies.Percentile(buckets, 0.5), 9);
        buckets[ExitLatencies.Buckets - 1] = 100;
        Assert.Equal(Math.Pow(2, ExitLatencies.Buckets - 1), ExitLatencies.Percentile(buckets, 0.99), 9);
    }
}
