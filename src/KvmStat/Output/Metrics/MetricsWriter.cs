using System.Globalization;
using System.Text;

namespace KvmStat.Output.Metrics;

/// <summary>
/// Writes metric families in the Prometheus text format (0.0.4) or OpenMetrics 1.0: HELP and TYPE
/// lines, samples with escaped label values, and OpenMetrics' "# EOF". A family is written only
/// when it has samples; each family is written once.
/// </summary>
internal sealed class MetricsWriter(bool openMetrics)
{
    internal const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    internal const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private readonly StringBuilder _text = new(64 * 1024);
    private readonly HashSet<string> _families = new(StringComparer.Ordinal);
    private string? _family;
    private string? _type;
    private string? _help;
    private bool _headerWritten;

    internal bool OpenMetrics => openMetrics;

    internal string ContentType => openMetrics ? OpenMetricsContentType : TextContentType;

    /// <summary>Starts a family; its HELP and TYPE lines are written with its first sample.</summary>
    internal void Family(string name, string type, string help)
    {
        _family = SanitizeName(name);
        _type = type;
        _help = help;
        _headerWritten = false;
    }

    /// <summary>A counter sample: "_total" is appended to the family name.</summary>
    internal void Counter(ReadOnlySpan<(string Name, string Value)> labels, long value) =>
        Sample("_total", labels, value.ToString(CultureInfo.InvariantCulture));

    internal void Gauge(ReadOnlySpan<(string Name, string Value)> labels, long value) =>
        Sample("", labels, value.ToString(CultureInfo.InvariantCulture));

    internal void Sample(string suffix, ReadOnlySpan<(string Name, string Value)> labels, string value)
    {
        if (_family is null)
            throw new InvalidOperationException("a sample needs a family");
        if (!_headerWritten)
        {
            if (!_families.Add(_family))
                throw new InvalidOperationException($"metric family {_family} written twice");
            // The text format names a counter's family with its _total; OpenMetrics without.
            string typed = _type == "counter" && !openMetrics ? _family + "_total" : _family;
            _text.Append("# HELP ").Append(typed).Append(' ').Append(EscapeHelp(_help ?? "")).Append('\n');
            _text.Append("# TYPE ").Append(typed).Append(' ').Append(_type).Append('\n');
            _headerWritten = true;
        }
        _text.Append(_family).Append(suffix);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                    _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"");
                AppendLabelValue(labels[i].Value);
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(value).Append('\n');
    }

    internal string Finish()
    {
        if (openMetrics)
            _text.Append("# EOF\n");
        return _text.ToString();
    }

    /// <summary>Label values may hold anything (guest names are other users' text): \, " and newline are escaped.</summary>
    private void AppendLabelValue(string value)
    {
        foreach (char c in value)
        {
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
                default:
                    // Lone surrogates cannot be encoded: they become U+FFFD rather than invalid UTF-8.
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
