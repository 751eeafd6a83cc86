using System.Text;

namespace KvmStat.Cli;

/// <summary>kvm_stat's fish completions (installed in fish's vendor completions).</summary>
internal static class FishCompletion
{
    internal static string Render(IReadOnlyList<CompletionOption> options, string[] sourceOptions)
    {
        var script = new StringBuilder();
        script.Append($$"""
            # fish completion for kvm_stat, written by "kvm_stat --completion fish" from the definitions of its options.

            # The fields "-f help" lists for the sources chosen so far on the line.
            # tracefs and debugfs are root's: a user gets them from sudo, when it asks no password.
            function __kvm_stat_fields
                set -l words (commandline -opc)
                set -l sources
                for word in $words[2..]
                    switch $word
                        case {{string.Join(' ', sourceOptions)}}
                            set -a sources $word
                    end
                end
                set -l fields ($words[1] $sources -f help 2>/dev/null | string trim)
                if test (count $fields) -eq 0; and __kvm_stat_may_sudo
                    set -l command (command -s $words[1]; or echo $words[1])
                    set fields (sudo -n -- $command[1] $sources -f help 2>/dev/null </dev/null | string trim)
                end
                string join \n -- $fields
            end

            # {{CompletionSudo.Why}}
            function __kvm_stat_may_sudo
                test (id -u) -ne 0; and command -q sudo; or return 1
                set -l groups (id -Gn 2>/dev/null | string split ' ')
                for group in {{string.Join(' ', CompletionSudo.Groups)}}
                    contains -- $group $groups; and return 0
                end
                return 1
            end

            # No file names except after the options that take one.
            complete -c kvm_stat -f

            """);
        foreach (CompletionOption option in options)
        {
            script.Append("complete -c kvm_stat");
            foreach (string name in option.Short)
                script.Append(" -s ").Append(Quote(name[1..]));
            foreach (string name in option.Long)
                script.Append(" -l ").Append(Quote(name[2..]));
            script.Append(option.Value switch
            {
                CompletionValue.Fields => " -x -a '(__kvm_stat_fields)'",
                CompletionValue.Files => " -r -F" + (option.Words.Length > 0 ? $" -a {Quote(string.Join(' ', option.Words))}" : ""),
                CompletionValue.Words => $" -x -a {Quote(string.Join(' ', option.Words))}",
                // fish has no optional values: --serve then completes options again.
                CompletionValue.Text when !option.OptionalValue => " -x",
                _ => "",
            });
            script.Append(" -d ").Append(Quote(option.Description)).Append('\n');
        }
        return script.ToString();
    }

    private static string Quote(string text) => "'" + text.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
