using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Exporter;

/// <summary>
/// Writes metric families in the Prometheus text format (0.0.4) or OpenMetrics 1.0: HELP and TYPE
/// lines, samples with escaped label values, and OpenMetrics' "# EOF". A family without samples is
/// left out. Whatever it is given, what it writes is valid: a family whose name (or one of the
/// names its samples take: _total, _bucket, ...) another family already took, a sample that does
/// not fit its family's type, a label name that is no label name, a label set written twice, are
/// left out and named in <see cref="Dropped"/>; label values longer than
/// <see cref="MaxLabelValue"/> are cut. Names and label values come partly from other users' text.
/// </summary>
internal sealed partial class MetricsWriter(bool openMetrics)
{
    internal const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    internal const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>The longest label value written, in characters (a guest name, a reason).</summary>
    internal const int MaxLabelValue = Text.MaxValueLength;

    private readonly Utf8Builder _text = new(64 * 1024);
    private readonly List<string> _dropped = [];
    // A family's label sets written so far, by a 64-bit hash (the sample that had it first), and
    // told apart exactly in the rare case that two differ with one hash: no string per sample.
    private readonly Dictionary<ulong, int> _series = [];
    private readonly HashSet<string> _collided = new(StringComparer.Ordinal);
    // The buckets of one series share one labels array, and their bounds are a few strings used
    // again and again: each is checked (and the labels hashed) once, not once a sample.
    private (string Name, string Value)[]? _checkedLabels;
    private string? _labelsProblem;
    private ulong _labelsHash;
    private int _labelsLe;
    private readonly Dictionary<string, bool> _checkedBounds = new(ReferenceEqualityComparer.Instance);

    /// <summary>What the last <see cref="Write"/> left out, one short line each.</summary>
    internal IReadOnlyList<string> Dropped => _dropped;

    /// <summary>The whole exposition of <paramref name="families"/>, as text (tests).</summary>
    internal string Write(IReadOnlyList<MetricFamily> families)
    {
        WriteUtf8(families);
        return _text.ToString();
    }

    /// <summary>The whole exposition of <paramref name="families"/> in UTF-8, in a buffer of its own that the writer lets go.</summary>
    internal ArraySegment<byte> WriteDetached(IReadOnlyList<MetricFamily> families)
    {
        WriteUtf8(families);
        return _text.Detach();
    }

    /// <summary>A buffer a detached exposition was written in, which nobody reads any more: the next exposition is written into it.</summary>
    internal void Reuse(ArraySegment<byte> detached) => _text.Reuse(detached.Array!);

    /// <summary>The whole exposition of <paramref name="families"/> in UTF-8: valid until the next write.</summary>
    internal ReadOnlyMemory<byte> WriteUtf8(IReadOnlyList<MetricFamily> families)
    {
        _text.Clear();
        _dropped.Clear();
        _checkedLabels = null;
        _checkedBounds.Clear();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        // Room for it all at once: growing a buffer of tens of megabytes step by step copies it at
        // each step and leaves the old one as garbage (a full collection) on a dense host's first
        // scrape (with room for escapes and what each append asks beyond what it writes).
        _text.EnsureCapacity(SizeOf(families));
        int largest = 0;
        foreach (MetricFamily family in families)
            largest = Math.Max(largest, family.Samples.Count + family.Histograms.Count);
        _series.EnsureCapacity(largest);
        foreach (MetricFamily family in families)
        {
            if (family.Samples.Count == 0 && family.Histograms.Count == 0)
                continue;
            WriteFamily(family, taken);
        }
        if (openMetrics)
            _text.Append("# EOF\n");
        return _text.Written;
    }

    /// <summary>One family: its HELP and TYPE, then each sample and histogram series it may hold.</summary>
    private void WriteFamily(MetricFamily family, HashSet<string> taken)
    {
        string name = SanitizeName(family.Name);
        string[]? suffixes = SuffixesOf(family.Type);
        if (suffixes is null || name.Length > 512)
        {
            _dropped.Add($"the family {Short(name)} (type \"{Short(family.Type)}\" or name not allowed)");
            return;
        }
        string[] names = ClaimedNames(name, family.Type);
        if (names.Any(taken.Contains))
        {
            _dropped.Add($"the family {Short(name)} (its name is another family's)");
            return;
        }
        taken.UnionWith(names);
        // The text format names a counter's family with its _total; OpenMetrics without.
        string typed = family.Type == "counter" && !openMetrics ? name + "_total" : name;
        _text.Append("# HELP ").Append(typed).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
        _text.Append("# TYPE ").Append(typed).Append(' ').Append(family.Type).Append('\n');
        _series.Clear();
        _collided.Clear();
        List<MetricSample> samples = family.Samples;
        for (int i = 0; i < samples.Count; i++)
        {
            MetricSample sample = samples[i];
            if (Problem(family.Type, suffixes, sample) is string problem)
                _dropped.Add($"a sample of {Short(name)} ({problem})");
            else if (!IsNewSeries(samples, i))
                _dropped.Add($"a sample of {Short(name)} (its labels are another sample's)");
            else
                WriteSample(name, sample);
        }
        // Whole histograms are told apart by their labels alone: a family gives its histograms as
        // samples or whole, not both (no code of the tool mixes them).
        if (family.Histograms.Count > 0 && family.Samples.Count > 0)
        {
            _dropped.Add($"the histograms of {Short(name)} given whole (the family has samples too)");
            return;
        }
        for (int h = 0; h < family.Histograms.Count; h++)
        {
            HistogramSeries series = family.Histograms[h];
            if (HistogramProblem(family.Type, series) is string problem)
                _dropped.Add($"a histogram of {Short(name)} ({problem})");
            else if (!IsNewHistogram(family, h))
                _dropped.Add($"a histogram of {Short(name)} (its labels are another series')");
            else
                WriteHistogram(name, series, family.HistogramCounts);
        }
    }

    private static string Short(string text) => KvmStat.Text.Escape(text.Length <= 80 ? text : text[..80] + "...");

    private static string Cut(string value) => Text.Cut(value);

    /// <summary>A histogram series' lines: a bucket per bound, +Inf, _sum and _count.</summary>
    private void WriteHistogram(string family, HistogramSeries series, List<ulong> counts)
    {
        ReadOnlySpan<ulong> cumulative = CollectionsMarshal.AsSpan(counts).Slice(series.Offset, series.Bounds.Length + 1);
        for (int b = 0; b <= series.Bounds.Length; b++)
        {
            _text.Append(family).Append("_bucket{");
            AppendLabels(series.Labels);
            _text.Append(series.Labels.Length > 0 ? ",le=\"" : "le=\"").Append(b < series.Bounds.Length ? series.Bounds[b] : "+Inf").Append("\"} ");
            _text.Append(checked((long)cumulative[b])).Append('\n');
        }
        _text.Append(family).Append("_sum");
        AppendLabelSet(series.Labels);
        _text.Append(' ').Append(series.Sum).Append('\n');
        _text.Append(family).Append("_count");
        AppendLabelSet(series.Labels);
        _text.Append(' ').Append(checked((long)cumulative[^1])).Append('\n');
    }

    /// <summary>Labels in braces, or nothing for none.</summary>
    private void AppendLabelSet((string Name, string Value)[] labels)
    {
        if (labels.Length == 0)
            return;
        _text.Append('{');
        AppendLabels(labels);
        _text.Append('}');
    }

    /// <summary>Labels, comma-separated, their values cut and escaped.</summary>
    private void AppendLabels((string Name, string Value)[] labels)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (i > 0)
                _text.Append(',');
            string value = labels[i].Value;
            _text.Append(labels[i].Name).Append("=\"");
            AppendLabelValue(value.AsSpan(0, Math.Min(value.Length, MaxLabelValue)));
            _text.Append('"');
        }
    }

    private void WriteSample(string family, MetricSample sample)
    {
        _text.Append(family).Append(sample.Suffix);
        if (sample.Labels.Length > 0 || sample.Le is not null)
        {
            _text.Append('{');
            AppendLabels(sample.Labels);
            if (sample.Le is string le)
            {
                _text.Append(sample.Labels.Length > 0 ? ",le=\"" : "le=\"");
                AppendLabelValue(le);
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ');
        if (sample.Value is string text)
            _text.Append(text);
        else
            _text.Append(sample.Number);
        _text.Append('\n');
    }

    /// <summary>The characters a label value cannot hold as they are: the format's own, and the controls <see cref="Text.IsControl"/> names.</summary>
    private static readonly System.Buffers.SearchValues<char> s_special = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x10000).Select(c => (char)c).Where(c => c is '\\' or '"' || Text.IsControl(c))]);

    /// <summary>
    /// Label values may hold anything (guest names are other users' text): \, " and newline are
    /// escaped as the format says, and controls are made visible as the screen shows them (\e, \x07),
    /// so that a scrape read in a terminal (curl) cannot move or retitle it.
    /// </summary>
    private void AppendLabelValue(ReadOnlySpan<char> value)
    {
        // Most values (pids, event names, plain guest names) need nothing: one copy.
        if (!value.ContainsAnyInRange('\uD800', '\uDFFF') && value.IndexOfAny(s_special) < 0)
        {
            _text.Append(value);
            return;
        }
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            switch (c)
            {
                case '\\':
                    _text.Append("\\\\");
                    break;
                case '"':
                    _text.Append("\\\"");
                    break;
                case '\n':
                    _text.Append("\\n");
                    break;
                case >= '\uD800' and <= '\uDBFF' when i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]):
                    _text.Append(value.Slice(i++, 2));
                    break;
                case var control when Text.IsControl(control):
                    _text.Append(Text.EscapeControls(control.ToString()).Replace("\\", "\\\\", StringComparison.Ordinal));
                    break;
                default:
                    // A lone surrogate cannot be encoded: it becomes U+FFFD rather than invalid UTF-8.
                    _text.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
                    break;
            }
        }
    }

    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\").Replace("\n", "\\n");

    /// <summary>Metric names are [a-zA-Z_:][a-zA-Z0-9_:]*: anything else becomes '_'.</summary>
    internal static string SanitizeName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name)
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
            builder.Insert(0, '_');
        return builder.ToString();
    }

}
