namespace KvmStat.Exporter;

/// <summary>
/// One sample line of a family: "family" + suffix, its labels, and its value as the text format
/// writes it, or (<see cref="Value"/> null) a whole number, <see cref="Number"/>, written without a
/// string of its own (a dense host's scrape has millions of samples). A histogram bucket's upper
/// bound is <see cref="Le"/>, written as its last label, so that one labels array serves all the
/// buckets of a series.
/// </summary>
internal readonly record struct MetricSample(string Suffix, (string Name, string Value)[] Labels, string? Value, string? Le = null)
{
    /// <summary>The value where <see cref="Value"/> is null.</summary>
    internal long Number { get; init; }

    /// <summary>How many labels it is written with: its own, and its bucket's bound.</summary>
    internal int LabelCount => Labels.Length + (Le is null ? 0 : 1);

    /// <summary>A label as written: its own, then its bucket's bound as "le".</summary>
    internal (string Name, string Value) LabelAt(int index) => index < Labels.Length ? Labels[index] : ("le", Le!);
}
