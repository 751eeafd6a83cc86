using System.Text;

namespace KvmStat.Cli;

/// <summary>kvm_stat's bash completion (installed as /usr/share/bash-completion/completions/kvm_stat).</summary>
internal static class BashCompletion
{
    // Long: the script's text, top to bottom, is easier to read whole than cut into pieces.
    internal static string Render(IReadOnlyList<CompletionOption> options, string[] sourceOptions)
    {
        var script = new StringBuilder();
        script.Append($$"""
            # bash completion for kvm_stat, written by "kvm_stat --completion bash" from the definitions of its options.

            # The fields "-f help" lists for the sources chosen so far on the line ($1: the command).
            # tracefs and debugfs are root's: a user gets them from sudo, when it asks no password.
            _kvm_stat_fields()
            {
                local word sources=() fields
                for word in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
                    case $word in
                        {{string.Join('|', sourceOptions)}}) sources+=("$word") ;;
                    esac
                done
                fields=$("$1" "${sources[@]}" -f help 2>/dev/null)
                if [[ -z $fields ]] && _kvm_stat_may_sudo; then
                    fields=$(sudo -n -- "$(type -P "$1" || echo "$1")" "${sources[@]}" -f help 2>/dev/null </dev/null)
                fi
                printf '%s\n' "$fields"
            }

            # {{CompletionSudo.Why}}
            _kvm_stat_may_sudo()
            {
                ((EUID != 0)) && type -P sudo >/dev/null || return 1
                local groups=" $(id -Gn 2>/dev/null) "
                [[ {{GroupTest}} ]]
            }

            _kvm_stat()
            {
                local cur=${COMP_WORDS[COMP_CWORD]} prev=
                ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
                # bash splits --option=value at the "=".
                if [[ $cur == = ]]; then
                    cur=
                elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
                    prev=${COMP_WORDS[COMP_CWORD-2]}
                fi
                case $prev in

            """);
        foreach (IGrouping<string, CompletionOption> kind in options.Where(o => o.Value != CompletionValue.None && !o.OptionalValue)
            .GroupBy(ValueCommand, StringComparer.Ordinal))
        {
            script.Append("        ").Append(string.Join('|', kind.SelectMany(o => o.Names))).Append(")\n");
            if (kind.Key.Length > 0)
                script.Append("            ").Append(kind.Key).Append('\n');
            script.Append("            return ;;\n");
        }
        script.Append($$"""
                esac
                mapfile -t COMPREPLY < <(compgen -W '{{string.Join(' ', options.SelectMany(o => o.Names))}}' -- "$cur")
            }

            complete -F _kvm_stat kvm_stat

            """);
        return script.ToString();
    }

    /// <summary>"$groups == *" sudo "* || ...": the user is in one of the groups sudo is usually given to.</summary>
    private static string GroupTest => string.Join(" || ", CompletionSudo.Groups.Select(g => "$groups == *\" " + g + " \"*"));

    /// <summary>What fills COMPREPLY after the option (empty: nothing to offer).</summary>
    private static string ValueCommand(CompletionOption option) => option.Value switch
    {
        CompletionValue.Fields => "mapfile -t COMPREPLY < <(compgen -W \"$(_kvm_stat_fields \"$1\")\" -- \"$cur\")",
        CompletionValue.Files => "compopt -o filenames 2>/dev/null\n            mapfile -t COMPREPLY < <(" +
            (option.Words.Length > 0 ? $"compgen -W '{string.Join(' ', option.Words)}' -- \"$cur\"; " : "") + "compgen -f -- \"$cur\")",
        CompletionValue.Words => $"mapfile -t COMPREPLY < <(compgen -W '{string.Join(' ', option.Words)}' -- \"$cur\")",
        _ => "",
    };
}
