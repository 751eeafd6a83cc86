namespace KvmStat.Exporter;

/// <summary>
/// One sample line of a family: "family" + suffix, its labels, and its value as the text format
/// writes it. A histogram bucket's upper bound is <see cref="Le"/>, written as its last label, so
/// that one labels array serves all the buckets of a series (a dense host's scrape has millions).
/// </summary>
internal readonly record struct MetricSample(string Suffix, (string Name, string Value)[] Labels, string Value, string? Le = null);
