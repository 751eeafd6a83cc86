namespace KvmStat.Sources;

/// <summary>The percentiles every histogram is shown with (binary statistics and exit latencies, in every output).</summary>
internal static class Percentiles
{
    internal static readonly (string Label, double Fraction)[] Shown = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99)];
}
