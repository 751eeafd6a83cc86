using System.CommandLine;
using System.Text;
using KvmStat.Host;
using KvmStat.Sources.Bpf;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>
/// kvm_stat.1, written from the same option definitions as -h (build.sh runs the hidden
/// --man-page option), so the manual cannot drift from the program.
/// </summary>
internal static class ManPage
{
    internal static string Render(RootCommand root) =>
        Render(root, BuildVersion.Release, Date(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), DateTimeOffset.UtcNow));

    /// <summary>
    /// The page's date: SOURCE_DATE_EPOCH's (build.sh sets it to the commit's time, so that one
    /// commit makes the same page), else today's.
    /// </summary>
    internal static string Date(string? sourceDateEpoch, DateTimeOffset now) =>
        (long.TryParse(sourceDateEpoch, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long seconds)
            && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds() ? DateTimeOffset.FromUnixTimeSeconds(seconds) : now).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    // Long: the page's sections in their order, read like the page itself.
    internal static string Render(RootCommand root, string release, string date)
    {
        var man = new StringBuilder();
        man.Append($".TH KVM_STAT 1 \"{date}\" \"kvm_stat {Escape(release)}\" \"User Commands\"\n");
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
        man.Append(".PP\n").Append(Escape(string.Join(' ', InteractiveCommands.OtherViews))).Append('\n');

        man.Append("""
            .SH SIGNALS
            SIGINT and SIGTERM end the tool cleanly: a log writes a last record for the partial interval when anything was counted in it, and the screen restores the terminal.
            With \fB\-L\fR, SIGHUP reopens the log file by name (for logrotate); a CSV header is written into a new, empty file.
            With \fB\-\-serve\fR, SIGHUP reloads \fB\-\-web\-config\-file\fR. Both hold under \fBnohup\fR(1); other modes end on SIGHUP, or ignore it under \fBnohup\fR.
            .SH EXIT STATUS
            0 on success, 1 when the host lacks or refuses something (with the cause and the fix on standard error), 2 for bad command-line input; 1, as in the reference, for \fB\-c\fR or \fB\-z\fR without \fB\-l\fR/\fB\-L\fR, a bad \fB\-f\fR expression or a delay out of range.

            """.Replace("\r", ""));
        man.Append(".SH ENVIRONMENT\n.TP\n").Append(Escape(BpfSupport.PretendVariable)).Append("=\\fIFEATURE\\fR\n")
            .Append(Escape($"pretends the kernel lacks a feature of the BPF engine ({string.Join(", ", BpfSupport.Features.Select(f => f.Name))}, or {BpfSupport.Memlock}: " +
                "a kernel before 5.11 that charges BPF maps to the locked-memory limit), to see the " +
                "fallback to perf counters on a kernel that has everything (batch leaves only exit latencies out)."))
            .Append("\n.TP\n").Append(Escape(HostPaths.RootVariable)).Append("=\\fIDIR\\fR\n")
            .Append(Escape("reads /proc, /sys and debugfs under DIR instead of / (fixture trees, for tests)."))
            .Append("\n.PP\nBoth are ignored when the tool runs set-user-ID or with file capabilities.\n");
        man.Append("""
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
            .TP
            kvm_stat\-exporter.service, kvm_stat.service
            systemd units of the Prometheus exporter and of a CSV log, not enabled on installation: in /lib/systemd/system (Debian), /usr/lib/systemd/system (RPM) or /etc/systemd/system (install.sh).
            .TP
            /etc/default/kvm\-stat, /etc/sysconfig/kvm\-stat
            the units' arguments (KVM_STAT_EXPORTER_ARGS, KVM_STAT_LOG_ARGS): /etc/default on Debian and from install.sh, /etc/sysconfig on RPM systems. A configuration file, kept by upgrades; restart the unit after changing it.
            .TP
            /var/log/kvm_stat/kvm_stat.csv
            the CSV log of kvm_stat.service.
            .TP
            /etc/logrotate.d/kvm\-stat
            rotates that log (the unit reopens it on SIGHUP).
            .TP
            /usr/share/kvm\-stat
            Prometheus alerting rules (kvm_stat.rules.yml, with their tests) and a Grafana dashboard (kvm_stat.grafana.json).
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
