using System.Text;

namespace KvmStat.Guests;

/// <summary>
/// The guest name of a QEMU command line: the value of -name (or --name) is a QEMU option
/// string, comma-separated with ",," standing for a literal comma; the name is its first item
/// without '=', else the value of guest=.
/// </summary>
internal static class GuestName
{
    /// <summary>The guest name in a NUL-separated /proc/PID/cmdline, or null when there is no -name.</summary>
    internal static string? FromCmdline(ReadOnlySpan<char> cmdline)
    {
        string? value = null;
        bool takeNext = false;
        foreach (Range range in cmdline.Split('\0'))
        {
            ReadOnlySpan<char> argument = cmdline[range];
            if (takeNext)
            {
                value = argument.ToString();
                takeNext = false;
                continue;
            }
            // QEMU lets later options override earlier ones: the last -name wins.
            if (argument is "-name" or "--name")
                takeNext = true;
            else if (argument.StartsWith("-name=") || argument.StartsWith("--name="))
                value = argument[(argument.IndexOf('=') + 1)..].ToString();
        }
        return value is null ? null : FromOptionValue(value);
    }

    /// <summary>"guest=vm1,debug-threads=on" → "vm1"; "a,,b,process=x" → "a,b".</summary>
    internal static string FromOptionValue(string value)
    {
        string? guestKey = null;
        foreach (string item in SplitOptions(value))
        {
            int equals = item.IndexOf('=');
            if (equals < 0)
                return item;
            if (item.AsSpan(0, equals) is "guest")
                guestKey = item[(equals + 1)..];
        }
        return guestKey ?? "";
    }

    /// <summary>Splits a QEMU option string at single commas; ",," is a literal comma.</summary>
    internal static List<string> SplitOptions(string value)
    {
        var items = new List<string>();
        var current = new StringBuilder();
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c != ',')
            {
                current.Append(c);
                continue;
            }
            if (i + 1 < value.Length && value[i + 1] == ',')
            {
                current.Append(',');
                i++;
                continue;
            }
            items.Add(current.ToString());
            current.Clear();
        }
        items.Add(current.ToString());
        return items;
    }
}
