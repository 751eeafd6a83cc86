namespace KvmStat.Exporter;

/// <summary>
/// One series of a histogram family, written out at write time as its buckets' lines (one per
/// bound, then +Inf), _sum and _count: a dense host has tens of thousands of them, and one entry
/// with its counts in its family's <see cref="MetricFamily.HistogramCounts"/> costs a fraction of
/// a sample per line. Its counts are copies: a scrape may write a family while the next samples.
/// </summary>
/// <param name="Bounds">The upper bounds written, "+Inf" left out (shared by the series of a family).</param>
/// <param name="Offset">Where its cumulative counts begin in the family's: one per bound, then the total.</param>
/// <param name="Sum">Its _sum as written.</param>
internal readonly record struct HistogramSeries((string Name, string Value)[] Labels, string[] Bounds, int Offset, string Sum);
