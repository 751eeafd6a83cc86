using System.Globalization;

namespace KvmStat.Stats;

/// <summary>
/// The time between samples, as the reference allows it: 0.1 to 25.5 seconds, 3 by default. The
/// command line (-s), the screen's 's' prompt and the manual page all take their limits from here.
/// </summary>
internal static class SampleInterval
{
    internal const double Default = 3.0;
    internal const double Min = 0.1;
    internal const double Max = 25.5;

    internal enum Verdict { Valid, NotANumber, TooShort, TooLong }

    /// <summary>Reads seconds from text (invariant culture); anything but a finite number in range is rejected.</summary>
    internal static Verdict Parse(string text, out double seconds)
    {
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || !double.IsFinite(seconds))
            return Verdict.NotANumber;
        if (seconds < Min)
            return Verdict.TooShort;
        return seconds > Max ? Verdict.TooLong : Verdict.Valid;
    }

    /// <summary>
    /// The reference's words for a delay out of range, with the value as Python prints a float
    /// ("30" → "\"30.0\": Delay must be &lt;=25.5"); null for a valid one or one that is no number.
    /// </summary>
    internal static string? OutOfRange(Verdict verdict, double seconds) => verdict switch
    {
        Verdict.TooShort => $"\"{PythonFloat(seconds)}\": Delay must be >={Format(Min)}",
        Verdict.TooLong => $"\"{PythonFloat(seconds)}\": Delay must be <={Format(Max)}",
        _ => null,
    };

    /// <summary>Python's repr of a float, which the reference's messages show: 30 → "30.0".</summary>
    internal static string PythonFloat(double value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }

    /// <summary>"0.1-25.5", for help texts.</summary>
    internal static string Range => $"{Format(Min)}-{Format(Max)}";

    internal static string Format(double seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
