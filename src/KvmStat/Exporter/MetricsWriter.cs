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
internal sealed class MetricsWriter(bool openMetrics)
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

    /// <summary>What the last <see cref="Write"/> left out, one short line each.</summary>
    internal IReadOnlyList<string> Dropped => _dropped;

    /// <summary>The whole exposition of <paramref name="families"/>, as text (tests).</summary>
    internal string Write(IReadOnlyList<MetricFamily> families)
    {
        WriteUtf8(families);
        return _text.ToString();
    }

    /// <summary>The whole exposition of <paramref name="families"/> in UTF-8: valid until the next write.</summary>
    internal ReadOnlyMemory<byte> WriteUtf8(IReadOnlyList<MetricFamily> families)
    {
        _text.Clear();
        _dropped.Clear();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        // Room for it all at once: growing a buffer of tens of megabytes step by step costs a full
        // garbage collection at each step on a dense host's first scrape.
        int all = 0, largest = 0;
        foreach (MetricFamily family in families)
        {
            all += family.Samples.Count;
            largest = Math.Max(largest, family.Samples.Count);
        }
        _text.Reserve(all * 96);
        _series.EnsureCapacity(largest);
        foreach (MetricFamily family in families)
        {
            if (family.Samples.Count == 0)
                continue;
            string name = SanitizeName(family.Name);
            string[]? suffixes = SuffixesOf(family.Type);
            if (suffixes is null || name.Length > 512)
            {
                _dropped.Add($"the family {Short(name)} (type \"{Short(family.Type)}\" or name not allowed)");
                continue;
            }
            // Every name the family's samples can take, so that no other family's lines mix with them.
            string[] names = [name, .. ClaimedSuffixes(family.Type).Select(suffix => name + suffix)];
            if (names.Any(taken.Contains))
            {
                _dropped.Add($"the family {Short(name)} (its name is another family's)");
                continue;
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
        }
        if (openMetrics)
            _text.Append("# EOF\n");
        return _text.Written;
    }

    /// <summary>The suffixes a family's samples may have, or null for a type that does not exist.</summary>
    private static string[]? SuffixesOf(string type) => type switch
    {
        "counter" => ["_total"],
        "gauge" => [""],
        "histogram" => ["_bucket", "_count", "_sum"],
        _ => null,
    };

    private static string[] ClaimedSuffixes(string type) => type switch
    {
        "counter" => ["_total", "_created"],
        "histogram" => ["_bucket", "_count", "_sum", "_created"],
        _ => [],
    };

    /// <summary>Why a sample cannot be written in its family, or null.</summary>
    private static string? Problem(string type, string[] suffixes, MetricSample sample)
    {
        if (Array.IndexOf(suffixes, sample.Suffix) < 0)
            return $"the suffix \"{Short(sample.Suffix)}\" does not fit a {type}";
        (string Name, string Value)[] labels = sample.Labels;
        string? le = sample.Le;
        for (int i = 0; i < labels.Length; i++)
        {
            string label = labels[i].Name;
            if (!IsLabelName(label) || IndexOf(labels, label) != i || (label == "le" && sample.Le is not null))
                return $"the label name \"{Short(label)}\" is not allowed or repeated";
            if (label == "le")
                le = labels[i].Value;
        }
        if (type == "histogram" && sample.Suffix == "_bucket" != le is not null)
            return "a histogram bucket needs le, and only a bucket has it";
        if (le is not null && !IsFloat(le))
            return "a bucket's le is no number";
        return sample.Value.Length is 0 or > 64 ? "no value" : null;
    }

    /// <summary>The first label named <paramref name="name"/> (a sample has a few: no set needed).</summary>
    private static int IndexOf((string Name, string Value)[] labels, string name)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i].Name == name)
                return i;
        }
        return -1;
    }

    /// <summary>Whether sample <paramref name="index"/>'s suffix and labels (as written: values cut) are none of an earlier sample's of its family.</summary>
    private bool IsNewSeries(List<MetricSample> samples, int index)
    {
        MetricSample sample = samples[index];
        ref int first = ref CollectionsMarshal.GetValueRefOrAddDefault(_series, SeriesHash(sample), out bool seen);
        if (!seen)
        {
            first = index;
            return true;
        }
        if (SameSeries(samples[first], sample))
            return false;
        return _collided.Add(sample.Suffix + "\0" + string.Join("\0", Enumerable.Range(0, sample.LabelCount).Select(sample.LabelAt).Select(l => l.Name + "=" + Cut(l.Value))));
    }

    private static bool SameSeries(MetricSample a, MetricSample b)
    {
        if (a.Suffix != b.Suffix || a.LabelCount != b.LabelCount)
            return false;
        for (int i = 0; i < a.LabelCount; i++)
        {
            ((string Name, string Value) x, (string Name, string Value) y) = (a.LabelAt(i), b.LabelAt(i));
            if (x.Name != y.Name || !Cut(x.Value).AsSpan().SequenceEqual(Cut(y.Value)))
                return false;
        }
        return true;
    }

    /// <summary>FNV-1a over the suffix, label names and values as written, with separators.</summary>
    private static ulong SeriesHash(MetricSample sample)
    {
        ulong hash = 14695981039346656037;
        hash = Mix(hash, sample.Suffix);
        foreach ((string name, string value) in sample.Labels)
        {
            hash = Mix(hash, name);
            hash = Mix(hash, value.AsSpan(0, Math.Min(value.Length, MaxLabelValue)));
        }
        if (sample.Le is string le)
            hash = Mix(Mix(hash, "le"), le);
        return hash;

        static ulong Mix(ulong hash, ReadOnlySpan<char> text)
        {
            foreach (char c in text)
                hash = (hash ^ c) * 1099511628211;
            return (hash ^ 0xFFFF) * 1099511628211;
        }
    }

    private static bool IsFloat(string text) =>
        text is "+Inf" or "-Inf" or "NaN" || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static readonly System.Buffers.SearchValues<char> s_labelChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

    private static bool IsLabelName(string name) =>
        name.Length is > 0 and <= 128 && !name.StartsWith("__", StringComparison.Ordinal) && !char.IsAsciiDigit(name[0])
        && !name.AsSpan().ContainsAnyExcept(s_labelChars);

    private static string Short(string text) => KvmStat.Text.Escape(text.Length <= 80 ? text : text[..80] + "...");

    private static string Cut(string value) => Text.Cut(value);

    private void WriteSample(string family, MetricSample sample)
    {
        _text.Append(family).Append(sample.Suffix);
        if (sample.Labels.Length > 0 || sample.Le is not null)
        {
            _text.Append('{');
            for (int i = 0; i < sample.Labels.Length; i++)
            {
                if (i > 0)
                    _text.Append(',');
                string value = sample.Labels[i].Value;
                _text.Append(sample.Labels[i].Name).Append("=\"");
                AppendLabelValue(value.AsSpan(0, Math.Min(value.Length, MaxLabelValue)));
                _text.Append('"');
            }
            if (sample.Le is string le)
            {
                _text.Append(sample.Labels.Length > 0 ? ",le=\"" : "le=\"");
                AppendLabelValue(le);
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(sample.Value).Append('\n');
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
