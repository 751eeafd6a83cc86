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

    /// <summary>Reads seconds from text (invariant culture); anything but a number in range is rejected (inf is too long, as Python's float says).</summary>
    internal static Verdict Parse(string text, out double seconds)
    {
        string trimmed = text.Trim();
        // Python's float() spells infinity "inf" or "infinity", in any case.
        seconds = trimmed.TrimStart('+', '-').ToLowerInvariant() is "inf" or "infinity"
            ? (trimmed.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity)
            : double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed : double.NaN;
        if (double.IsNaN(seconds))
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

    /// <summary>
    /// Python's repr of a float, which the reference's messages show: the shortest digits that read
    /// back, in positional notation from 1e-4 up to 1e16 ("30.0", "0.0001"), else as "1e+30", "1.5e-05".
    /// </summary>
    internal static string PythonFloat(double value)
    {
        if (double.IsNaN(value))
            return "nan";
        if (double.IsInfinity(value))
            return value > 0 ? "inf" : "-inf";
        // The shortest round-trip digits and where the point goes, from .NET's shortest form.
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int e = shortest.IndexOf('E');
        string mantissa = e < 0 ? shortest : shortest[..e];
        int point = (mantissa.IndexOf('.') is int dot and >= 0 ? dot : mantissa.Length) + (e < 0 ? 0 : int.Parse(shortest[(e + 1)..], CultureInfo.InvariantCulture));
        string digits = mantissa.Replace(".", "", StringComparison.Ordinal);
        while (digits.Length > 1 && digits[0] == '0')
        {
            digits = digits[1..];
            point--;
        }
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
            return double.IsNegative(value) ? "-0.0" : "0.0";
        string sign = value < 0 ? "-" : "";
        int exponent = point - 1;
        if (exponent is >= -4 and < 16)
        {
            if (point <= 0)
                return $"{sign}0.{new string('0', -point)}{digits}";
            return point >= digits.Length
                ? $"{sign}{digits}{new string('0', point - digits.Length)}.0"
                : $"{sign}{digits[..point]}.{digits[point..]}";
        }
        string fraction = digits.Length > 1 ? "." + digits[1..] : "";
        return $"{sign}{digits[0]}{fraction}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
    }

    /// <summary>"0.1-25.5", for help texts.</summary>
    internal static string Range => $"{Format(Min)}-{Format(Max)}";

    internal static string Format(double seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
