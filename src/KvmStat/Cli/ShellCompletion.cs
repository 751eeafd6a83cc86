using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;

namespace KvmStat.Cli;

/// <summary>
/// Completion scripts for bash, zsh and fish, written from the same option definitions as -h and
/// the manual page (the hidden --completion SHELL option prints one; the packages install them).
/// </summary>
internal static class ShellCompletion
{
    internal static readonly string[] Shells = ["bash", "zsh", "fish"];

    internal static string Render(RootCommand root, string shell)
    {
        IReadOnlyList<CompletionOption> options = Describe(root);
        return shell switch
        {
            "bash" => BashCompletion.Render(options, SourceOptions),
            "zsh" => ZshCompletion.Render(options, SourceOptions),
            "fish" => FishCompletion.Render(options, SourceOptions),
            _ => throw new ArgumentOutOfRangeException(nameof(shell), shell, "the command line lets only bash, zsh and fish through"),
        };
    }

    /// <summary>
    /// The options that choose sources: the field names -f completes come from "-f help" with
    /// those of them already on the line (debugfs fields after -d).
    /// </summary>
    internal static string[] SourceOptions =>
        [.. new Option[] { CommandLine.Debugfs, CommandLine.Tracepoints, CommandLine.BinaryStats }.SelectMany(NamesOf)];

    internal static IReadOnlyList<CompletionOption> Describe(RootCommand root)
    {
        var options = new List<CompletionOption>();
        foreach (Option option in root.Options)
        {
            if (option.Hidden)
                continue;
            string[] names = NamesOf(option);
            string[] words = [.. option.GetCompletions(CompletionContext.Empty).Select(c => c.Label)];
            // A bool option is a flag, though System.CommandLine would take "-d true" too.
            bool takesValue = option.ValueType != typeof(bool) && option.Arity.MaximumNumberOfValues > 0;
            CompletionValue value = !takesValue ? CompletionValue.None
                : option == CommandLine.Fields || option == CommandLine.GuestFields ? CompletionValue.Fields
                : option.HelpName is "FILE" or "PATH" ? CompletionValue.Files
                : words.Length > 0 ? CompletionValue.Words
                : CompletionValue.Text;
            options.Add(new CompletionOption(
                Short: [.. names.Where(n => n.Length == 2)],
                Long: [.. names.Where(n => n.Length > 2)],
                Description: option.Description ?? "",
                Value: value,
                ValueName: takesValue ? option.HelpName ?? "VALUE" : null,
                Words: takesValue ? words : [],
                OptionalValue: takesValue && option.Arity.MinimumNumberOfValues == 0,
                Repeatable: option.Arity.MaximumNumberOfValues > 1,
                Alone: option is HelpOption or VersionOption));
        }
        return options;
    }

    /// <summary>
    /// The option's names a Unix shell user types, short ones first: not "/h" (for Windows), nor
    /// "-?", a glob pattern in every shell that says what -h says.
    /// </summary>
    private static string[] NamesOf(Option option) =>
        [.. new[] { option.Name }.Concat(option.Aliases).Where(n => n.StartsWith('-') && n != "-?")
            .OrderBy(n => n.Length > 2 ? 1 : 0).ThenBy(n => n, StringComparer.Ordinal)];
}
