using System.Text;

namespace KvmStat.Cli;

/// <summary>kvm_stat's zsh completion function _kvm_stat (installed in zsh's vendor completions).</summary>
internal static class ZshCompletion
{
    internal static string Render(IReadOnlyList<CompletionOption> options, string[] sourceOptions)
    {
        var script = new StringBuilder();
        script.Append($$"""
            #compdef kvm_stat
            # zsh completion for kvm_stat, written by "kvm_stat --completion zsh" from the definitions of its options.

            # The fields "-f help" lists for the sources chosen so far on the line.
            # tracefs and debugfs are root's: a user gets them from sudo, when it asks no password.
            _kvm_stat_fields() {
              local -a sources fields
              sources=(${(M)words[2,CURRENT-1]:#({{string.Join('|', sourceOptions)}})})
              fields=(${="$(_call_program fields $words[1] $sources -f help 2>/dev/null)"})
              if (( ! $#fields )) && _kvm_stat_may_sudo; then
                fields=(${="$(_call_program fields sudo -n -- ${commands[$words[1]]:-$words[1]} $sources -f help 2>/dev/null </dev/null)"})
              fi
              _wanted fields expl field compadd -a fields
            }

            # {{CompletionSudo.Why}}
            _kvm_stat_may_sudo() {
              (( EUID && $+commands[sudo] )) || return 1
              local -a groups
              groups=(${=$(id -Gn 2>/dev/null)})
              (( ${groups[(I)({{string.Join('|', CompletionSudo.Groups)}})]} ))
            }

            _kvm_stat_files_or_words() {
              _alternative "words:word:($*)" 'files:file:_files'
            }

            _arguments -s -S \

            """);
        string[] specs = [.. options.Select(Spec)];
        for (int i = 0; i < specs.Length; i++)
            script.Append("  ").Append(specs[i]).Append(i < specs.Length - 1 ? " \\\n" : "\n");
        return script.ToString();
    }

    /// <summary>One _arguments spec: '(excluded)'{-f+,--fields=}'[description]:FIELDS:action'.</summary>
    private static string Spec(CompletionOption option)
    {
        string[] names = [.. option.Short.Select(n => option.Value == CompletionValue.None ? n : n + "+")
            .Concat(option.Long.Select(n => option.Value == CompletionValue.None ? n : n + "="))];
        string excluded = option.Alone ? "(- *)" : option.Repeatable ? "*" : $"({string.Join(' ', option.Names)})";
        // One name: one quoted word; more: zsh's brace expansion makes a spec of each.
        string spec = names.Length == 1
            ? $"'{excluded}{names[0]}[{Quote(option.Description)}]"
            : $"'{excluded}'{{{string.Join(',', names)}}}'[{Quote(option.Description)}]";
        if (option.Value == CompletionValue.None)
            return spec + "'";
        string action = option.Value switch
        {
            CompletionValue.Fields => "_kvm_stat_fields",
            CompletionValue.Files => option.Words.Length > 0 ? $"_kvm_stat_files_or_words {string.Join(' ', option.Words)}" : "_files",
            CompletionValue.Words => $"({string.Join(' ', option.Words)})",
            _ => " ",
        };
        return spec + (option.OptionalValue ? "::" : ":") + Quote(option.ValueName ?? "VALUE") + ":" + action + "'";
    }

    /// <summary>Text inside a single-quoted _arguments spec: brackets and colons end its parts.</summary>
    private static string Quote(string text) =>
        text.Replace("\\", "\\\\").Replace("[", "\\[").Replace("]", "\\]").Replace(":", "\\:").Replace("'", "'\\''");
}
