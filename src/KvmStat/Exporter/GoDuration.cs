using System.Globalization;
using System.Text.RegularExpressions;

namespace KvmStat.Exporter;

/// <summary>A duration as Go writes it ("1s", "1m30s", "250ms", "1.5h"), or a bare integer of nanoseconds (YAML's int for a time.Duration).</summary>
internal static partial class GoDuration
{
    [GeneratedRegex(@"^(?:(?<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?<unit>ns|us|µs|μs|ms|s|m|h))+$")]
    private static partial Regex Parts();

    internal static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text == "0")
            return true;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long nanoseconds))
        {
            duration = TimeSpan.FromTicks(nanoseconds / 100);
            return true;
        }
        Match match = Parts().Match(text);
        if (!match.Success)
            return false;
        double seconds = 0;
        for (int i = 0; i < match.Groups["number"].Captures.Count; i++)
        {
            double number = double.Parse(match.Groups["number"].Captures[i].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            seconds += number * match.Groups["unit"].Captures[i].Value switch
            {
                "ns" => 1e-9,
                "us" or "µs" or "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                _ => 3600,
            };
        }
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2)
            return false;
        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
