namespace KvmStat.Cli;

/// <summary>
/// When the completions ask sudo for the field names (tracefs and debugfs are root's): only with
/// -n, which never prompts and fails where a password is needed, and only for members of the
/// groups Debian, Ubuntu and Fedora give sudo to. sudo logs (and by default mails) an attempt by
/// a user it does not know: others get no field names rather than a report at every Tab.
/// </summary>
internal static class CompletionSudo
{
    internal static readonly string[] Groups = ["sudo", "wheel", "admin"];

    internal const string Why = "Whether to ask sudo -n: not as root, and only in the groups sudo is usually given to (sudo reports others).";
}
