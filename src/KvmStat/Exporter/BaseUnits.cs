using System.Globalization;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Exporter;

/// <summary>
/// Numbers as the exposition writes them: a binary statistic's value in the base units its
/// descriptor decides (<see cref="KvmStatDescriptor.InBase"/>), and any floating-point value.
/// </summary>
internal static class BaseUnits
{
    /// <summary>A raw value in base units, as text (exact integers stay integers).</summary>
    internal static string Value(KvmStatDescriptor descriptor, long raw) =>
        descriptor.ConvertsToBase ? Float(descriptor.InBase(raw)) : raw.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A floating-point value as Prometheus and OpenMetrics write it: the shortest that reads back
    /// the same, with a lower-case exponent (1.024e-06) as the Prometheus client libraries write a
    /// bucket's le, so that a query naming le="1.024e-06" finds it.
    /// </summary>
    internal static string Float(double value)
    {
        if (double.IsPositiveInfinity(value))
            return "+Inf";
        if (double.IsNegativeInfinity(value))
            return "-Inf";
        if (double.IsNaN(value))
            return "NaN";
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('E', StringComparison.Ordinal) ? text.Replace('E', 'e') : text;
    }
}
