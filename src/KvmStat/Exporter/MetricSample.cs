namespace KvmStat.Exporter;

/// <summary>
/// One sample line of a family: "family" + suffix, its labels, and its value as the text format
/// writes it. A histogram bucket's upper bound is <see cref="Le"/>, written as its last label, so
/// that one labels array serves all the buckets of a series (a dense host's scrape has millions).
/// </summary>
internal readonly record struct MetricSample(string Suffix, (string Name, string Value)[] Labels, string Value, string? Le = null)
{
    /// <summary>How many labels it is written with: its own, and its bucket's bound.</summary>
    internal int LabelCount => Labels.Length + (Le is null ? 0 : 1);

    /// <summary>A label as written: its own, then its bucket's bound as "le".</summary>
    internal (string Name, string Value) LabelAt(int index) => index < Labels.Length ? Labels[index] : ("le", Le!);
}
