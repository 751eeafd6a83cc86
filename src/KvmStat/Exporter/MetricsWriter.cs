using System.Globalization;
using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// Writes metric families in the Prometheus text format (0.0.4) or OpenMetrics 1.0: HELP and TYPE
/// lines, samples with escaped label values, and OpenMetrics' "# EOF". A family without samples is
/// left out; a family name written twice is a programming error.
/// </summary>
internal sealed class MetricsWriter(bool openMetrics)
{
    internal const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    internal const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private readonly StringBuilder _text = new(64 * 1024);

    internal string ContentType => openMetrics ? OpenMetricsContentType : TextContentType;

    /// <summary>The whole exposition of <paramref name="families"/>.</summary>
    internal string Write(IReadOnlyList<MetricFamily> families)
    {
        _text.Clear();
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (MetricFamily family in families)
        {
            if (family.Samples.Count == 0)
                continue;
            string name = SanitizeName(family.Name);
            if (!written.Add(name))
                throw new InvalidOperationException($"metric family {name} written twice");
            // The text format names a counter's family with its _total; OpenMetrics without.
            string typed = family.Type == "counter" && !openMetrics ? name + "_total" : name;
            _text.Append("# HELP ").Append(typed).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
            _text.Append("# TYPE ").Append(typed).Append(' ').Append(family.Type).Append('\n');
            foreach (MetricSample sample in family.Samples)
                WriteSample(name, sample);
        }
        if (openMetrics)
            _text.Append("# EOF\n");
        return _text.ToString();
    }

    private void WriteSample(string family, MetricSample sample)
    {
        _text.Append(family).Append(sample.Suffix);
        if (sample.Labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < sample.Labels.Length; i++)
            {
                if (i > 0)
                    _text.Append(',');
                _text.Append(sample.Labels[i].Name).Append("=\"");
                AppendLabelValue(sample.Labels[i].Value);
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(sample.Value).Append('\n');
    }

    /// <summary>Label values may hold anything (guest names are other users' text): \, " and newline are escaped.</summary>
    private void AppendLabelValue(string value)
    {
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
                    _text.Append(c).Append(value[++i]);
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

    /// <summary>A float in both formats ("+Inf" for infinity).</summary>
    internal static string Float(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : value.ToString("R", CultureInfo.InvariantCulture);
}
