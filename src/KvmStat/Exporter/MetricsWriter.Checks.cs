using System.Globalization;
using System.Runtime.InteropServices;

namespace KvmStat.Exporter;

/// <summary>What the writer checks before it writes: types and suffixes, label names, bounds, and each series once.</summary>
internal sealed partial class MetricsWriter
{
    /// <summary>The suffixes a family's samples may have, or null for a type that does not exist.</summary>
    private static string[]? SuffixesOf(string type) => type switch
    {
        "counter" => ["_total"],
        "gauge" => [""],
        "histogram" => ["_bucket", "_count", "_sum"],
        _ => null,
    };

    /// <summary>Every name a family's samples can take, so that no other family's lines mix with them.</summary>
    internal static string[] ClaimedNames(string name, string type) => [name, .. ClaimedSuffixes(type).Select(suffix => name + suffix)];

    private static string[] ClaimedSuffixes(string type) => type switch
    {
        "counter" => ["_total", "_created"],
        "histogram" => ["_bucket", "_count", "_sum", "_created"],
        _ => [],
    };

    /// <summary>Why a sample cannot be written in its family, or null.</summary>
    private string? Problem(string type, string[] suffixes, MetricSample sample)
    {
        if (Array.IndexOf(suffixes, sample.Suffix) < 0)
            return $"the suffix \"{Short(sample.Suffix)}\" does not fit a {type}";
        if (LabelsProblem(sample.Labels) is string problem)
            return problem;
        string? le = sample.Le ?? (_labelsLe >= 0 ? sample.Labels[_labelsLe].Value : null);
        if (sample.Le is not null && _labelsLe >= 0)
            return "the label name \"le\" is not allowed or repeated";
        if (type == "histogram" && sample.Suffix == "_bucket" != le is not null)
            return "a histogram bucket needs le, and only a bucket has it";
        if (le is not null && !IsBound(le))
            return "a bucket's le is no number";
        return sample.Value is { Length: 0 or > 64 } ? "no value" : null;
    }

    /// <summary>Why a histogram series cannot be written in its family, or null.</summary>
    private string? HistogramProblem(string type, HistogramSeries series)
    {
        if (type != "histogram")
            return $"a {type} has no histograms";
        if (LabelsProblem(series.Labels) is string problem)
            return problem;
        if (_labelsLe >= 0)
            return "the label name \"le\" is not allowed or repeated";
        foreach (string bound in series.Bounds)
        {
            if (bound == "+Inf" || !IsBound(bound))
                return "a bucket's le is no number";
        }
        return series.Sum.Length is 0 or > 64 ? "no value" : null;
    }

    /// <summary>
    /// Whether a histogram series' labels are those of no earlier histogram of its family (which
    /// has no samples: <see cref="WriteFamily"/>): told by its _sum line, one per series.
    /// </summary>
    private bool IsNewHistogram(MetricFamily family, int index)
    {
        HistogramSeries series = family.Histograms[index];
        var sum = new MetricSample("_sum", series.Labels, series.Sum);
        ref int first = ref CollectionsMarshal.GetValueRefOrAddDefault(_series, SeriesHash(sum, _labelsHash), out bool seen);
        if (!seen)
        {
            // A histogram's index is kept as its complement, a sample's as it is.
            first = ~index;
            return true;
        }
        MetricSample earlier = first >= 0 ? family.Samples[first] : new MetricSample("_sum", family.Histograms[~first].Labels, "");
        if (SameSeries(earlier, sum))
            return false;
        return IsNewCollided(sum);
    }

    /// <summary>Why a labels array cannot be written (names not allowed or repeated), or null: once for the samples that share it.</summary>
    private string? LabelsProblem((string Name, string Value)[] labels)
    {
        if (ReferenceEquals(labels, _checkedLabels))
            return _labelsProblem;
        _labelsProblem = null;
        for (int i = 0; i < labels.Length && _labelsProblem is null; i++)
        {
            string label = labels[i].Name;
            if (!IsLabelName(label) || IndexOf(labels, label) != i)
                _labelsProblem = $"the label name \"{Short(label)}\" is not allowed or repeated";
        }
        _labelsHash = LabelsHash(labels);
        _labelsLe = IndexOf(labels, "le");
        _checkedLabels = labels;
        return _labelsProblem;
    }


    private bool IsBound(string le)
    {
        ref bool valid = ref CollectionsMarshal.GetValueRefOrAddDefault(_checkedBounds, le, out bool seen);
        if (!seen)
            valid = IsFloat(le);
        return valid;
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
        ref int first = ref CollectionsMarshal.GetValueRefOrAddDefault(_series, SeriesHash(sample, _labelsHash), out bool seen);
        if (!seen)
        {
            first = index;
            return true;
        }
        if (SameSeries(samples[first], sample))
            return false;
        return IsNewCollided(sample);
    }

    /// <summary>A series whose hash another one had: told apart by its suffix and labels as written, in full (rare: a string then).</summary>
    private bool IsNewCollided(MetricSample sample) =>
        _collided.Add(sample.Suffix + "\0" + string.Join("\0", Enumerable.Range(0, sample.LabelCount).Select(sample.LabelAt).Select(l => l.Name + "=" + Cut(l.Value))));

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

    /// <summary>FNV-1a over the label names and values as written, with separators (<see cref="LabelsProblem"/> keeps it for the samples that share them).</summary>
    private static ulong LabelsHash((string Name, string Value)[] labels)
    {
        ulong hash = 14695981039346656037;
        foreach ((string name, string value) in labels)
        {
            hash = Mix(hash, name);
            hash = Mix(hash, value.AsSpan(0, Math.Min(value.Length, MaxLabelValue)));
        }
        return hash;
    }

    /// <summary>A sample's series: its labels' hash, its bound as the label written last (so that le given either way is one series), then its suffix.</summary>
    private static ulong SeriesHash(MetricSample sample, ulong labelsHash)
    {
        ulong hash = labelsHash;
        if (sample.Le is string le)
            hash = Mix(Mix(hash, "le"), le);
        return Mix(hash, sample.Suffix);
    }

    private static ulong Mix(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (char c in text)
            hash = (hash ^ c) * 1099511628211;
        return (hash ^ 0xFFFF) * 1099511628211;
    }

    private static bool IsFloat(string text) =>
        text is "+Inf" or "-Inf" or "NaN" || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static readonly System.Buffers.SearchValues<char> s_labelChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

    private static bool IsLabelName(string name) =>
        name.Length is > 0 and <= 128 && !name.StartsWith("__", StringComparison.Ordinal) && !char.IsAsciiDigit(name[0])
        && !name.AsSpan().ContainsAnyExcept(s_labelChars);
}
