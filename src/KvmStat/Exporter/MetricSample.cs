namespace KvmStat.Exporter;

/// <summary>One sample line of a family: "family" + suffix, its labels, and its value as the text format writes it.</summary>
internal readonly record struct MetricSample(string Suffix, (string Name, string Value)[] Labels, string Value);
