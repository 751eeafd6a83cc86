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
    [InlineData("9223372036854775807", (ulong)long.MaxValue)]
    [InlineData("18446744073709551615", null)] // no counter gets there: a value a signed counter cannot hold is refused
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

    /// <summary>Schemas that would make two series of one name, or names no KVM gives, or no end of statistics: refused whole, with the reason.</summary>
    [Theory]
    [InlineData("""{"name": "exits", "type": "cumulative"}, {"name": "exits", "type": "instant"}""", "the statistic exits is named twice")]
    [InlineData("""{"name": "a-b", "type": "cumulative"}, {"name": "a_b", "type": "cumulative"}""", "\"a-b\" has a name KVM would not give")]
    [InlineData("""{"name": "halt_wait_ns", "type": "cumulative", "unit": "seconds"}, {"name": "halt_wait_seconds", "type": "cumulative", "unit": "seconds"}""",
        "halt_wait_ns and halt_wait_seconds would both be exported as halt_wait_seconds")]
    [InlineData("""{"name": "exits", "type": "cumulative", "unit": "parsecs"}""", "unknown unit \"parsecs\"")]
    [InlineData("""{"name": "exits", "type": "cumulative", "base": 7}""", "has the scale 7^0")]
    [InlineData("""{"name": "", "type": "cumulative"}""", "a statistic's name is 0 characters long")]
    public void SchemasThatCannotBeExportedAreRefused(string stats, string expected)
    {
        using JsonDocument schemas = JsonDocument.Parse($$"""[{"provider": "kvm", "target": "vcpu", "stats": [{{stats}}]}]""");
        Assert.Contains(expected, Assert.Throws<KvmStatsFormatException>(() => QmpStats.ParseSchemas(schemas.RootElement)).Message);
    }

    [Fact]
    public void HugeSchemasAndNamesAreRefused()
    {
        string many = string.Join(", ", Enumerable.Range(0, 100_000).Select(i => $$"""{"name": "s{{i}}", "type": "cumulative"}"""));
        using JsonDocument schemas = JsonDocument.Parse($$"""[{"provider": "kvm", "target": "vm", "stats": [{{many}}]}]""");
        Assert.Contains("100000 statistics (at most 1024)", Assert.Throws<KvmStatsFormatException>(() => QmpStats.ParseSchemas(schemas.RootElement)).Message);
        using JsonDocument longName = JsonDocument.Parse($$"""[{"provider": "kvm", "target": "vm", "stats": [{"name": "{{new string('a', 1 << 20)}}", "type": "cumulative"}]}]""");
        var e = Assert.Throws<KvmStatsFormatException>(() => QmpStats.ParseSchemas(longName.RootElement));
        Assert.True(e.Message.Length < 200, e.Message);
    }
}
