using KvmStat.Sources;

namespace KvmStat.Tests.Sources;

public class LatencyHistogramTests
{
    private static LatencyHistogram Of(ulong nanoseconds, params (int Bucket, ulong Exits)[] buckets)
    {
        var histogram = new LatencyHistogram { Nanoseconds = nanoseconds };
        foreach ((int bucket, ulong exits) in buckets)
            histogram.Buckets[bucket] = exits;
        return histogram;
    }

    /// <summary>Histogram <paramref name="before"/> as one capture left it, refilled as <paramref name="now"/> by the next.</summary>
    private static LatencyHistogram Captured(LatencyHistogram before, LatencyHistogram now)
    {
        before.StartCapture();
        before.Clear();
        before.Add(now);
        return before;
    }

    /// <summary>The interval every output shows (the screen, -1's percentiles): what each bucket gained between two captures.</summary>
    [Fact]
    public void AnIntervalIsWhatEachBucketGained()
    {
        ulong[] into = new ulong[ExitLatencies.Buckets];
        LatencyHistogram histogram = Captured(Of(3000, (10, 100), (17, 2)), Of(5000, (10, 120), (17, 7)));
        ulong exits = histogram.LastInterval(into, out ulong nanoseconds);
        Assert.Equal((25UL, 2000UL), (exits, nanoseconds));
        Assert.Equal((20UL, 5UL), (into[10], into[17]));
        // Without a capture before, all of it.
        Assert.Equal(127UL, Of(5000, (10, 120), (17, 7)).LastInterval(into, out _));
        // Reading it again gives the same interval; the next capture starts a new one.
        Array.Clear(into);
        Assert.Equal(25UL, histogram.LastInterval(into, out _));
        Array.Clear(into);
        histogram.StartCapture();
        Assert.Equal(0UL, histogram.LastInterval(into, out nanoseconds));
        Assert.Equal(0UL, nanoseconds);
    }

    /// <summary>
    /// A histogram that went down in one bucket started again (its slot was given back and taken
    /// anew) while another grew: all of it is new, in every bucket, never a bucket's difference.
    /// </summary>
    [Fact]
    public void AHistogramThatStartedAgainIsNewInEveryBucket()
    {
        ulong[] into = new ulong[ExitLatencies.Buckets];
        ulong exits = Captured(Of(3000, (10, 100), (17, 2)), Of(900, (10, 40), (17, 7))).LastInterval(into, out ulong nanoseconds);
        Assert.Equal((47UL, 900UL), (exits, nanoseconds));
        Assert.Equal((40UL, 7UL), (into[10], into[17]));
    }
}
