using KvmStat.Sources.BinaryStats;

namespace KvmStat.Tests.Sources.BinaryStats;

/// <summary>What a descriptor's unit and scale make of its values: the one place every output asks.</summary>
public class KvmStatDescriptorTests
{
    private static KvmStatDescriptor Of(string name, KvmStatUnit unit, int numberBase = 10, int exponent = 0, KvmStatType type = KvmStatType.Cumulative) =>
        new(name, type, unit, numberBase, exponent, 1, 0, 0);

    [Theory]
    [InlineData("halt_wait_ns", "seconds", "halt_wait_seconds")]
    [InlineData("halt_poll_success_us", "seconds", "halt_poll_success_seconds")]
    [InlineData("blocking_s", "seconds", "blocking_seconds")]
    [InlineData("guest_time", "seconds", "guest_time_seconds")]
    [InlineData("memory", "bytes", "memory_bytes")]
    [InlineData("memory_bytes", "bytes", "memory_bytes")]
    [InlineData("exits", "none", "exits")]
    public void NamesCarryBaseUnits(string name, string unit, string expected)
    {
        KvmStatUnit kind = unit switch { "seconds" => KvmStatUnit.Seconds, "bytes" => KvmStatUnit.Bytes, _ => KvmStatUnit.None };
        Assert.Equal(expected, Of(name, kind).ExportedName);
    }

    /// <summary>A histogram's name gains its base unit whatever it ends with (its buckets are in that unit).</summary>
    [Fact]
    public void AHistogramNameGainsItsBaseUnit()
    {
        Assert.Equal("halt_wait_hist_seconds", Of("halt_wait_hist", KvmStatUnit.Seconds, exponent: -9, type: KvmStatType.LogHistogram).ExportedName);
        Assert.Equal("sizes_bytes", Of("sizes", KvmStatUnit.Bytes, type: KvmStatType.LinearHistogram).ExportedName);
    }

    [Theory]
    [InlineData((int)KvmStatUnit.Seconds, 10, -9, "ns")]
    [InlineData((int)KvmStatUnit.Seconds, 10, -6, "us")]
    [InlineData((int)KvmStatUnit.Seconds, 10, -3, "ms")]
    [InlineData((int)KvmStatUnit.Seconds, 10, 0, "s")]
    [InlineData((int)KvmStatUnit.Seconds, 10, -12, "1e-12s")]
    [InlineData((int)KvmStatUnit.Seconds, 2, -10, "2^-10s")]
    [InlineData((int)KvmStatUnit.Bytes, 10, 0, "bytes")]
    [InlineData((int)KvmStatUnit.Bytes, 2, 12, "2^12bytes")]
    [InlineData((int)KvmStatUnit.Cycles, 10, 0, "cycles")]
    [InlineData((int)KvmStatUnit.Boolean, 10, 0, "boolean")]
    [InlineData((int)KvmStatUnit.None, 10, 0, null)]
    public void TheUnitOfARawValueIsNamedWithItsScale(int unit, int numberBase, int exponent, string? expected) =>
        Assert.Equal(expected, Of("s", (KvmStatUnit)unit, numberBase, exponent).UnitName);

    /// <summary>Only a time or size with a scale changes in base units; cycles and counts stay as KVM gives them.</summary>
    [Fact]
    public void OnlyScaledTimesAndSizesChangeInBaseUnits()
    {
        Assert.Equal(0.00013, Of("t", KvmStatUnit.Seconds, exponent: -9).InBase(130_000));
        Assert.Equal(8192, Of("b", KvmStatUnit.Bytes, 2, 12).InBase(2));
        Assert.False(Of("t", KvmStatUnit.Seconds).ConvertsToBase);
        Assert.False(Of("c", KvmStatUnit.Cycles, exponent: 3).ConvertsToBase);
        Assert.Equal(5, Of("c", KvmStatUnit.Cycles, exponent: 3).InBase(5));
    }

    /// <summary>A histogram's bounds are scaled whatever its unit, as its percentiles on the screen are: 2^4 of cycles × 10^3 is 16000.</summary>
    [Fact]
    public void HistogramBoundsAreScaledWhateverTheUnit()
    {
        KvmStatDescriptor cycles = Of("c", KvmStatUnit.Cycles, exponent: 3, type: KvmStatType.LogHistogram);
        Assert.Equal(16_000, cycles.BucketHighInBase(4, 32));
        Assert.Equal(16_000, cycles.BucketHigh(4) * cycles.Shown.Factor);
        Assert.Equal(1.6e-8, Of("t", KvmStatUnit.Seconds, exponent: -9, type: KvmStatType.LogHistogram).BucketHighInBase(4, 32));
        Assert.Equal(double.PositiveInfinity, cycles.BucketHighInBase(31, 32));
    }

    [Fact]
    public void PercentilesOfTimesAreShownInMicroseconds()
    {
        Assert.Equal(("us", 1e-3), Of("t", KvmStatUnit.Seconds, exponent: -9).Shown);
        Assert.Equal(("us", 1.0), Of("t", KvmStatUnit.Seconds, exponent: -6).Shown);
        Assert.Equal(("bytes", 1.0), Of("b", KvmStatUnit.Bytes).Shown);
        Assert.Equal(("", 1.0), Of("n", KvmStatUnit.None).Shown);
    }
}
