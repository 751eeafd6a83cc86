using System.CommandLine;

namespace KvmStat.Cli;

/// <summary>
/// Long options may be shortened to any unambiguous start, as the reference's parser (Python's
/// argparse) allows: "--log-to" is --log-to-file, "--debugfs-i" --debugfs-include-past. A start
/// that fits several options is refused with their names, as argparse refuses it.
/// </summary>
internal static class LongOptionPrefixes
{
    internal static string[] Expand(RootCommand root, string[] args)
    {
        string[]? expanded = null;
        List<string> names = LongNames(root);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            // After "--" every token is an argument.
            if (arg == "--")
                break;
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                continue;
            int equals = arg.IndexOf('=');
            string name = equals < 0 ? arg : arg[..equals];
            if (names.Contains(name))
                continue;
            string[] fits = [.. names.Where(n => n.StartsWith(name, StringComparison.Ordinal))];
            if (fits.Length > 1)
                throw new UsageException($"ambiguous option: {Text.EscapeControls(name)} could match {string.Join(", ", fits)}");
            if (fits.Length == 1)
                (expanded ??= (string[])args.Clone())[i] = equals < 0 ? fits[0] : fits[0] + arg[equals..];
        }
        return expanded ?? args;
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
