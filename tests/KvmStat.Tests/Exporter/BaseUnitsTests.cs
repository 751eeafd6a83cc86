using System.Globalization;
using CsCheck;
using KvmStat.Exporter;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Tests.Exporter;

public class BaseUnitsTests
{
    private static KvmStatDescriptor Seconds(int exponent, KvmStatType type = KvmStatType.Cumulative) =>
        new("t", type, KvmStatUnit.Seconds, 10, exponent, 1, 0, 0);

    /// <summary>
    /// A value in base units is the decimal the raw value and its power of ten make, as written:
    /// 130000 ns is 0.00013 s (times 10^-9, itself not exact, gave 0.00013000000000000002).
    /// </summary>
    [Fact]
    public void ADecimalScaleGivesTheDecimalItMakes()
    {
        Assert.Equal("0.00013", BaseUnits.Value(Seconds(-9), 130_000));
        Assert.Equal("1.5", BaseUnits.Value(Seconds(-9), 1_500_000_000));
        Assert.Equal("130000", BaseUnits.Value(Seconds(0), 130_000));
        Assert.Equal("2048", BaseUnits.Value(new KvmStatDescriptor("b", KvmStatType.Cumulative, KvmStatUnit.Bytes, 2, 10, 1, 0, 0), 2));
        // Up to 15 significant digits a double holds any decimal, so the written value is that decimal.
        Gen.Select(Gen.Long[0, 999_999_999_999_999], Gen.OneOf(Gen.Const(-3), Gen.Const(-6), Gen.Const(-9))).Sample((raw, exponent) =>
        {
            decimal written = decimal.Parse(BaseUnits.Value(Seconds(exponent), raw), NumberStyles.Float, CultureInfo.InvariantCulture);
            return written == raw / (decimal)Math.Pow(10, -exponent);
        });
    }

    /// <summary>A log2 histogram of nanoseconds has bucket bounds of 2^N ns written as those decimals of seconds.</summary>
    [Fact]
    public void HistogramBoundsAreTheirDecimalsInSeconds()
    {
        KvmStatDescriptor histogram = Seconds(-9, KvmStatType.LogHistogram);
        Assert.Equal("1e-09", BaseUnits.Float(histogram.BucketHighInBase(0, 32)));
        Assert.Equal("0.000131072", BaseUnits.Float(histogram.BucketHighInBase(17, 32)));
        Assert.Equal("+Inf", BaseUnits.Float(histogram.BucketHighInBase(31, 32)));
    }
}
