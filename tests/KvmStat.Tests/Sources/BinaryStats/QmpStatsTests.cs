using System.Text.Json;
using CsCheck;
using KvmStat.Sources.BinaryStats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

/// <summary>QMP answers as a hostile or broken peer could send them.</summary>
public class QmpStatsTests
{
    private static readonly KvmStatDescriptor[] s_schema =
    [
        new("exits", KvmStatType.Cumulative, KvmStatUnit.None, 10, 0, 1, 0, 0),
        new("halt_wait_hist", KvmStatType.LogHistogram, KvmStatUnit.Seconds, 10, -9, 1, 1, 0),
    ];

    /// <summary>Any JSON as the schemas and as the statistics: a format error, or what it says; never another exception.</summary>
    [Fact]
    public void AnyAnswerIsReadOrAFormatError()
    {
        Gen.Int.Sample(seed =>
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(HostileJson.Generate(seed));
            }
            catch (JsonException)
            {
                return; // Too deep for the reader: the connection names it "not JSON" (QmpTests).
            }
            using (document)
            {
                try
                {
                    (IReadOnlyList<KvmStatDescriptor> vm, IReadOnlyList<KvmStatDescriptor> vcpu) = QmpStats.ParseSchemas(document.RootElement);
                    Assert.Equal(vcpu.Count, vcpu.DistinctBy(d => d.Name).Count());
                    new QmpBlock(vm, -1).Fill(document.RootElement);
                }
                catch (KvmStatsFormatException)
                {
                }
                try
                {
                    new QmpBlock(s_schema, 0).Fill(document.RootElement);
                }
                catch (KvmStatsFormatException)
                {
                }
            }
        }, iter: 5000);
    }

    /// <summary>A value is the exact count its text says, or a format error: never a zero or a wrapped number instead.</summary>
    [Theory]
    [InlineData("7", 7UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("18446744073709551616", null)]
    [InlineData("-1", null)]
    [InlineData("1.5", null)]
    [InlineData("1e3", null)]
    [InlineData("\"7\"", null)]
    [InlineData("null", null)]
    [InlineData("{}", null)]
    public void AValueIsItsExactCountOrAFormatError(string value, ulong? expected)
    {
        var block = new QmpBlock(s_schema, 0);
        using JsonDocument answer = JsonDocument.Parse($$"""{"provider": "kvm", "stats": [{"name": "exits", "value": {{value}}}]}""");
        if (expected is ulong count)
        {
            block.Fill(answer.RootElement);
            Assert.Equal([count], block.Values(s_schema[0]).ToArray());
            return;
        }
        Assert.Contains("exits has a value that is no count", Assert.Throws<KvmStatsFormatException>(() => block.Fill(answer.RootElement)).Message);
        using JsonDocument histogram = JsonDocument.Parse($$"""{"provider": "kvm", "stats": [{"name": "halt_wait_hist", "value": [1, {{value}}]}]}""");
        Assert.Throws<KvmStatsFormatException>(() => block.Fill(histogram.RootElement));
    }

    [Fact]
    public void ASchemaListingANameTwiceKeepsTheFirst()
    {
        using JsonDocument schemas = JsonDocument.Parse("""
            [{"provider": "kvm", "target": "vcpu", "stats": [
              {"name": "exits", "type": "cumulative"}, {"name": "exits", "type": "instant"}]}]
            """);
        (_, IReadOnlyList<KvmStatDescriptor> vcpu) = QmpStats.ParseSchemas(schemas.RootElement);
        Assert.Equal(KvmStatType.Cumulative, Assert.Single(vcpu).Type);
    }
}
