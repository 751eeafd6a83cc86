using System.Globalization;
using System.Text;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// JSON a hostile or broken QMP peer could send, from a seed: the words of QMP answers in every
/// shape (wrong types, missing members, lists for objects), numbers that are no counts (negative,
/// fractions, beyond 64 bits, exponents), control and bidirectional characters, and nesting deeper
/// than a JSON reader allows.
/// </summary>
internal static class HostileJson
{
    private static readonly string[] s_words =
    [
        "return", "error", "class", "desc", "QMP", "version", "qemu", "major", "minor", "micro", "package",
        "provider", "kvm", "target", "vm", "vcpu", "stats", "name", "type", "unit", "value", "exponent", "base",
        "bucket-size", "qom-path", "cpu-index", "exits", "halt_wait_hist", "cumulative", "instant", "peak",
        "log2-histogram", "linear-histogram", "seconds", "bytes", "boolean", "event", "\u202e", "\u001b]0;x\u0007", "",
    ];

    private static readonly string[] s_numbers =
    [
        "0", "1", "-1", "7", "4294967295", "18446744073709551615", "18446744073709551616", "-9223372036854775809",
        "1e3", "1.5", "-0", "1E+400", "123456789012345678901234567890",
    ];

    internal static string Generate(int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        Value(random, text, depth: 0, maxDepth: random.Next(8) == 0 ? 80 : 6);
        return text.ToString();
    }

    private static void Value(Random random, StringBuilder text, int depth, int maxDepth)
    {
        int kind = depth >= maxDepth ? random.Next(4) : random.Next(7);
        switch (kind)
        {
            case 0:
                text.Append(s_numbers[random.Next(s_numbers.Length)]);
                break;
            case 1:
                String(random, text);
                break;
            case 2:
                text.Append(random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" });
                break;
            case 3:
                text.Append(random.Next(1000).ToString(CultureInfo.InvariantCulture));
                break;
            case 4:
            case 5:
                text.Append('{');
                int members = random.Next(5);
                for (int i = 0; i < members; i++)
                {
                    if (i > 0)
                        text.Append(',');
                    String(random, text);
                    text.Append(':');
                    Value(random, text, depth + 1, maxDepth);
                }
                text.Append('}');
                break;
            default:
                text.Append('[');
                int items = random.Next(5);
                for (int i = 0; i < items; i++)
                {
                    if (i > 0)
                        text.Append(',');
                    Value(random, text, depth + 1, maxDepth);
                }
                text.Append(']');
                break;
        }
    }

    private static void String(Random random, StringBuilder text)
    {
        string word = s_words[random.Next(s_words.Length)];
        text.Append('"');
        foreach (char c in word)
        {
            if (c < 0x20 || c == '"' || c == '\\' || c > 0x7e)
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else
                text.Append(c);
        }
        text.Append('"');
    }
}
