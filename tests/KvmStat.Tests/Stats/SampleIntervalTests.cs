using KvmStat.Stats;

namespace KvmStat.Tests.Stats;

public class SampleIntervalTests
{
    /// <summary>The reference's messages show the delay as Python's repr of a float does.</summary>
    [Theory]
    [InlineData(30, "30.0")]
    [InlineData(25.6, "25.6")]
    [InlineData(0.05, "0.05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(0.000015, "1.5e-05")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e30, "1e+30")]
    [InlineData(-3, "-3.0")]
    [InlineData(0, "0.0")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void DelaysAreShownAsPythonShowsAFloat(double value, string shown) => Assert.Equal(shown, SampleInterval.PythonFloat(value));

    /// <summary>As Python's float(): "inf" is a number, too long; "nan" none.</summary>
    [Fact]
    public void InfinityIsTooLongAndNanNoNumber()
    {
        Assert.Equal(SampleInterval.Verdict.TooLong, SampleInterval.Parse("inf", out double seconds));
        Assert.Equal("\"inf\": Delay must be <=25.5", SampleInterval.OutOfRange(SampleInterval.Verdict.TooLong, seconds));
        Assert.Equal(SampleInterval.Verdict.TooShort, SampleInterval.Parse("-inf", out _));
        Assert.Equal(SampleInterval.Verdict.NotANumber, SampleInterval.Parse("nan", out _));
        Assert.Equal(SampleInterval.Verdict.Valid, SampleInterval.Parse(" 0.5 ", out seconds));
        Assert.Equal(0.5, seconds);
    }
}
