using System.CommandLine;
using System.Text;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>
/// kvm_stat.1, written from the same option definitions as -h (build.sh runs the hidden
/// --man-page option), so the manual cannot drift from the program.
/// </summary>
internal static class ManPage
{
    internal static string Render(RootCommand root)
    {
        var man = new StringBuilder();
        man.Append(".TH KVM_STAT 1 \"\" \"kvm_stat\" \"User Commands\"\n");
        man.Append(".SH NAME\nkvm_stat \\- report what KVM virtual machines make the host kernel do\n");
        man.Append(".SH SYNOPSIS\n.B kvm_stat\n[\\fIOPTIONS\\fR]\n");
        man.Append(".SH DESCRIPTION\n");
        foreach (string paragraph in (root.Description ?? "").Split("\n\n"))
        {
            if (paragraph.TrimStart().StartsWith("Interactive commands", StringComparison.Ordinal))
                continue;
            man.Append(".PP\n").Append(Escape(string.Join(' ', paragraph.Split('\n', StringSplitOptions.TrimEntries)))).Append('\n');
        }
        man.Append(".PP\nWithout \\fB\\-1\\fR, \\fB\\-l\\fR, \\fB\\-L\\fR or \\fB\\-\\-serve\\fR it opens an interactive, full-screen view.\n");

        man.Append(".SH OPTIONS\n");
        foreach (Option option in root.Options)
        {
            if (option.Hidden)
                continue;
            man.Append(".TP\n");
            // Windows-style aliases ("/h") mean nothing here.
            string[] names = [.. new[] { option.Name }.Concat(option.Aliases).Where(n => n.StartsWith('-')).OrderBy(n => n.StartsWith("--", StringComparison.Ordinal) ? 1 : 0).ThenBy(n => n.Length)];
            man.Append(string.Join(", ", names.Select(n => $"\\fB{Escape(n)}\\fR")));
            if (option.HelpName is string value)
                man.Append(' ').Append(option.Arity.MinimumNumberOfValues == 0 ? $"[\\fI{value}\\fR]" : $"\\fI{value}\\fR");
            man.Append('\n').Append(Escape(option.Description ?? "")).Append('\n');
        }

        man.Append(".SH INTERACTIVE COMMANDS\n");
        foreach ((char key, string meaning) in InteractiveCommands.Keys)
            man.Append(".TP\n\\fB").Append(key).Append("\\fR\n").Append(Escape(meaning)).Append('\n');
        man.Append(".PP\n").Append(Escape(InteractiveCommands.OtherKeys)).Append(".\n");
        man.Append(".PP\n").Append(Escape(InteractiveCommands.GuestView)).Append('\n');

        man.Append("""
            .SH SIGNALS
            SIGINT and SIGTERM end the tool cleanly: a log writes a last record for the partial interval and flushes it, and the screen restores the terminal.
            With \fB\-L\fR, SIGHUP reopens the log file by name (for logrotate); a CSV header is written into a new, empty file.
            .SH EXIT STATUS
            0 on success, 1 when the host lacks or refuses something (with the cause and the fix on standard error), 2 for bad command-line input.
            .SH FILES
            .TP
            /sys/kernel/tracing, /sys/kernel/debug/tracing
            tracefs: the kvm tracepoints.
            .TP
            /sys/kernel/debug/kvm
            debugfs: KVM's statistics per VM (PID-FD folders).
            .TP
            /proc/PID/fd
            statistics descriptors a VMM keeps open (\fB\-\-binary\-stats\fR).
            .SH SEE ALSO
            .BR perf (1),
            .BR qemu-system-x86_64 (1)

            """.Replace("\r", ""));
        return man.ToString();
    }

    /// <summary>Roff escaping: backslashes, hyphens in names, and lines starting with a control character.</summary>
    private static string Escape(string text)
    {
        string escaped = text.Replace("\\", "\\e").Replace("-", "\\-");
        return escaped.StartsWith('.') || escaped.StartsWith('\'') ? "\\&" + escaped : escaped;
    }
}
