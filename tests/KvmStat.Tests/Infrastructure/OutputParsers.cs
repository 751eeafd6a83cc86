using System.Globalization;
using System.Text.RegularExpressions;

namespace KvmStat.Tests.Infrastructure;

/// <summary>Reads kvm_stat's text formats back, checking their layout on the way.</summary>
internal static partial class OutputParsers
{
    [GeneratedRegex(@"^(?<name>\S+?) *(?<total>-?\d+) +(?<delta>-?\d+)$")]
    private static partial Regex BatchLine();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( +-?\d+)+$")]
    private static partial Regex PlainRecord();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,-?\d+)+$")]
    private static partial Regex CsvRecord();

    /// <summary>-1 output: "%-42s%10d%10d" per field, sorted by name.</summary>
    internal static Dictionary<string, (long Total, long Delta)> Batch(string output)
    {
        var result = new Dictionary<string, (long, long)>();
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (string line in lines)
        {
            Match m = BatchLine().Match(line);
            Assert.True(m.Success, $"not a batch line: \"{line}\"");
            string name = m.Groups["name"].Value;
            if (name.Length < 42)
                Assert.Equal(62, line.Length);
            result[name] = (long.Parse(m.Groups["total"].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups["delta"].Value, CultureInfo.InvariantCulture));
        }
        Assert.Equal(lines.Select(l => BatchLine().Match(l).Groups["name"].Value).Order(StringComparer.Ordinal), result.Keys);
        return result;
    }

    /// <summary>Sums the deltas per field over the records of a plain (-l) or CSV (-c) log.</summary>
    internal static Dictionary<string, long> SumLog(IEnumerable<string> lines, bool csv)
    {
        string[]? names = null;
        var sums = new Dictionary<string, long>();
        foreach (string line in lines)
        {
            if (line.Length == 0)
                continue;
            if (!char.IsAsciiDigit(line[0]))
            {
                string[] header = csv ? line.Split(',')[1..] : line.TrimEnd(' ').Split(' ');
                if (csv)
                    Assert.StartsWith("timestamp,", line);
                else
                    Assert.EndsWith(" ", line);
                names ??= header;
                Assert.Equal(names, header);
                continue;
            }
            Assert.Matches(csv ? CsvRecord() : PlainRecord(), line);
            Assert.NotNull(names);
            string[] values = csv ? line.Split(',')[1..] : line[19..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!csv)
                Assert.Equal(19 + 10 * names.Length, line.Length);
            Assert.Equal(names.Length, values.Length);
            for (int i = 0; i < names.Length; i++)
                sums[names[i]] = sums.GetValueOrDefault(names[i]) + long.Parse(values[i], CultureInfo.InvariantCulture);
        }
        return sums;
    }

    internal static int RecordCount(IEnumerable<string> lines) => lines.Count(l => l.Length > 0 && char.IsAsciiDigit(l[0]));
}
