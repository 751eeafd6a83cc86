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

    /// <summary>"0.1-25.5", for help texts.</summary>
    internal static string Range => $"{Format(Min)}-{Format(Max)}";

    internal static string Format(double seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
