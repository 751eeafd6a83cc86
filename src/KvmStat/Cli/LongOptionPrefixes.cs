using System.CommandLine;

namespace KvmStat.Cli;

/// <summary>
/// Long options may be shortened to any unambiguous start, as the reference's parser (Python's
/// argparse) allows: "--log-to" is --log-to-file, "--debugfs-i" --debugfs-include-past. A start
/// that fits several options is refused with their names, as argparse refuses it, unless one of
/// them is the reference's ("--g" is --guest, not --guest-fields). An option's value is never
/// taken for an option: "-L --log-t" logs to a file named "--log-t".
/// </summary>
internal static class LongOptionPrefixes
{
    /// <summary>The reference's own long options: where a start fits one of them and options of this tool's too, the reference's wins, as it did there.</summary>
    private static readonly string[] s_reference =
    [
        "--once", "--batch", "--csv", "--debugfs", "--fields", "--guest", "--debugfs-include-past", "--log", "--log-to-file",
        "--pid", "--set-delay", "--tracepoints", "--skip-zero-records", "--help",
    ];

    internal static string[] Expand(RootCommand root, string[] args)
    {
        string[]? expanded = null;
        List<string> names = LongNames(root);
        HashSet<string> takingValues = ValueTakers(root);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            // After "--" every token is an argument.
            if (arg == "--")
                break;
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                // The value of -f, -g, -L... is the option's, whatever it looks like; in a bundle of
                // short options (-lL) the last one's.
                if (takingValues.Contains(arg) || (arg.Length > 2 && arg[0] == '-' && takingValues.Contains("-" + arg[^1])))
                    i++;
                continue;
            }
            int equals = arg.IndexOf('=');
            string name = equals < 0 ? arg : arg[..equals];
            string? full = names.Contains(name) ? name : Resolve(name, names);
            if (full is null)
                continue;
            if (full != name)
                (expanded ??= (string[])args.Clone())[i] = equals < 0 ? full : full + arg[equals..];
            if (equals < 0 && takingValues.Contains(full))
                i++;
        }
        return expanded ?? args;
    }

    /// <summary>The one option a start names (the reference's, if several fit and one is); null when none does; ambiguous ones refused.</summary>
    private static string? Resolve(string start, List<string> names)
    {
        string[] fits = [.. names.Where(n => n.StartsWith(start, StringComparison.Ordinal))];
        if (fits.Length <= 1)
            return fits.Length == 1 ? fits[0] : null;
        string[] reference = [.. fits.Where(s_reference.Contains)];
        if (reference.Length == 1)
            return reference[0];
        throw new UsageException($"ambiguous option: {Text.EscapeControls(start)} could match {string.Join(", ", fits)}");
    }

    /// <summary>Every name, long and short, of the options that take a value (not the flags, nor --serve, whose address is optional).</summary>
    private static HashSet<string> ValueTakers(RootCommand root)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Option option in root.Options)
        {
            if (option.ValueType != typeof(bool) && option.Arity.MinimumNumberOfValues > 0)
                names.UnionWith(option.Aliases.Prepend(option.Name));
        }
        return names;
    }

    /// <summary>Every long name of the visible options (hidden ones are for packaging, spelled out).</summary>
    private static List<string> LongNames(RootCommand root)
    {
        var names = new List<string>();
        foreach (Option option in root.Options)
        {
            if (option.Hidden)
                continue;
            foreach (string name in option.Aliases.Prepend(option.Name))
            {
                if (name.StartsWith("--", StringComparison.Ordinal) && !names.Contains(name))
                    names.Add(name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }
}
