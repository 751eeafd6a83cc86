using System.CommandLine;
using System.Globalization;
using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>
/// The command line, with the reference kvm_stat's options and meanings. The same definitions
/// produce -h and the validation messages.
/// </summary>
internal static class CommandLine
{
    internal static string Description => $"""
        Displays statistics about KVM virtual machines: the events they make the host kernel
        handle (VM exits, I/O, MMIO, halts, page faults...), from tracepoints (default), debugfs,
        or KVM's binary statistics (held descriptors or QEMU's QMP).

        Requirements: root (or CAP_PERFMON and read access to tracefs; CAP_BPF too for the BPF
        engine, else perf counters count), tracefs at /sys/kernel/tracing (or
        /sys/kernel/debug/tracing) for tracepoints, debugfs at /sys/kernel/debug for -d.

        Interactive commands:
        {string.Join("\n", InteractiveCommands.Lines())}
        {InteractiveCommands.OtherKeys}.
        """;

    internal static readonly Option<bool> Once = new("--once", "-1", "--batch") { Description = "run in batch mode for one second" };
    internal static readonly Option<bool> Csv = new("--csv", "-c") { Description = "log in csv format - requires option -l/-L" };
    internal static readonly Option<bool> Debugfs = new("--debugfs", "-d") { Description = "retrieve statistics from debugfs" };
    internal static readonly Option<string?> Fields = new("--fields", "-f")
    {
        Description = "fields to display (regex, matched at the start of each name); \"-f help\" for a list of available events",
        HelpName = "FIELDS",
    };
    internal static readonly Option<string?> Guest = new("--guest", "-g") { Description = "restrict statistics to guest by name", HelpName = "GUEST" };
    internal static readonly Option<bool> IncludePast = new("--debugfs-include-past", "-i") { Description = "include all available data on past events for debugfs" };
    internal static readonly Option<bool> Log = new("--log", "-l") { Description = "run in logging mode (like vmstat)" };
    internal static readonly Option<string?> LogFile = new("--log-to-file", "-L") { Description = "log in logging mode to FILE, appending", HelpName = "FILE" };
    internal static readonly Option<string?> Pid = new("--pid", "-p") { Description = "restrict statistics to pid", HelpName = "PID" };
    internal static readonly Option<string?> Delay = new("--set-delay", "-s")
    {
        Description = $"set delay between refreshs (value range: {SampleInterval.Range} secs)",
        HelpName = "DELAY",
    };
    internal static readonly Option<bool> Tracepoints = new("--tracepoints", "-t") { Description = "retrieve statistics from tracepoints" };
    internal static readonly Option<bool> SkipZero = new("--skip-zero-records", "-z") { Description = "omit records with all zeros in logging mode" };
    internal static readonly Option<bool> Verbose = new("--verbose") { Description = "report on stderr what is being counted and how long setting it up took" };
    internal static readonly Option<bool> BinaryStats = new("--binary-stats")
    {
        Description = "retrieve KVM's binary statistics from the descriptors VMMs keep open (QEMU 8.1 and later); works under lockdown",
    };
    internal static readonly Option<string[]> Qmp = new("--qmp")
    {
        Description = "retrieve KVM's binary statistics through QEMU's QMP socket PATH (repeatable; \"auto\": every QMP socket on a QEMU command line)",
        HelpName = "PATH",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        CompletionSources = { "auto" },
    };
    internal static readonly Option<bool> Json = new("--json")
    {
        Description = "with -1, -l or -L: write JSON Lines, one object per sample (totals, deltas, units, per guest and per vCPU)",
    };
    internal static readonly Option<string?> Serve = new("--serve")
    {
        Description = $"serve Prometheus/OpenMetrics metrics at http://ADDRESS/metrics (default {Exporter.ListenAddress.Default}; \"*:PORT\" for all interfaces)",
        HelpName = "ADDRESS",
        Arity = ArgumentArity.ZeroOrOne,
    };
    internal static readonly Option<string?> WebConfigFile = new("--web-config-file")
    {
        Description = "with --serve: TLS, basic authentication and response headers from FILE, in the web configuration format of Prometheus exporters",
        HelpName = "FILE",
    };
    internal static readonly Option<string?> Engine = new("--engine")
    {
        Description = "how tracepoints are counted: bpf (in the kernel, per process; the default where allowed), perf (perf counters, like the reference), or auto",
        HelpName = "ENGINE",
        CompletionSources = { "bpf", "perf", "auto" },
    };
    internal static readonly Option<bool> Latency = new("--latency")
    {
        Description = "also time how long each exit keeps a vCPU out of its guest, per reason (BPF engine): p50/p90/p99 fields, JSON buckets, Prometheus histograms; " +
            "off by default, for its cost (where kvm_entry does not fire, a short program runs on every system call of the host); on the screen l starts and stops it",
    };
    internal static readonly Option<bool> Vcpus = new("--vcpus")
    {
        Description = "also count each tracepoint per vCPU thread (BPF engine; vCPUs named as their VMM names its threads, QEMU's \"CPU N/KVM\" with -name ...,debug-threads=on, Firecracker's \"fc_vcpu N\", Cloud Hypervisor's \"vcpuN\", else by the vCPU descriptor a thread runs in ioctl(KVM_RUN), else by thread id): " +
            "with -p/-g a child per vCPU (kvm_pio(vcpu0)), each guest's \"vcpus\" in JSON (with each vCPU's exit reasons), kvm_guest_vcpu_events_total when serving and with --latency " +
            "a histogram per vCPU and kind of exit; costs rows for 16,384 threads in the kernel (about 16 MiB, 25 MiB with --latency) " +
            "and about 50 ns more per event",
    };
    internal static readonly Option<string?> GuestFields = new("--guest-fields")
    {
        Description = "with --serve or --json: only the fields whose name matches RE get per-guest values (series, JSON guests), a tracepoint with its exit reasons and a reason with its tracepoint (reasons per guest: BPF engine); the host's fields are unchanged",
        HelpName = "RE",
    };
    internal static readonly Option<bool> ManPage = new("--man-page") { Hidden = true, Description = "print the manual page (troff) and exit" };
    internal static readonly Option<string?> Completion = new("--completion")
    {
        Hidden = true,
        Description = "print the completion script for SHELL (bash, zsh or fish) and exit",
        HelpName = "SHELL",
    };
    internal static readonly Option<bool> Doctor = new("--doctor") { Description = "report what this host offers and why a source does not work, then exit; with --engine, -p/-g, -f, --guest-fields, --latency, --vcpus and --web-config-file, what a run with them would do" };

    internal static RootCommand Build()
    {
        var root = new RootCommand(Description)
        {
            Once, Csv, Debugfs, Fields, Guest, IncludePast, Log, LogFile, Pid, Delay, Tracepoints, SkipZero, Verbose,
            BinaryStats, Qmp, Doctor, Json, Serve, WebConfigFile, Engine, Latency, Vcpus, GuestFields, ManPage, Completion,
        };
        root.Options.OfType<VersionOption>().Single().Action = new VersionAction();
        foreach (Option<string?> option in new[] { Fields, Guest, LogFile, Pid, Delay })
            LastWins(option);
        return root;
    }

    /// <summary>
    /// As the reference's argparse stores an option's value: given again, the last one counts
    /// ("-s 1 -s 3" is 3 seconds; a wrapper script's default can be overridden after it). One
    /// value each time: "-s 1 3" is still an extra argument.
    /// </summary>
    private static void LastWins(Option<string?> option)
    {
        option.Arity = ArgumentArity.OneOrMore;
        option.AllowMultipleArgumentsPerToken = false;
        option.CustomParser = result => result.Tokens[^1].Value;
    }

    /// <summary>
    /// Parses as the reference's argparse reads a command line: long options may be shortened
    /// (<see cref="LongOptionPrefixes"/>), and no response files ("-f @x" is a pattern, not a file to read).
    /// </summary>
    internal static ParseResult Parse(RootCommand root, string[] args) =>
        root.Parse(LongOptionPrefixes.Expand(root, args), new ParserConfiguration { ResponseFileTokenReplacer = null });

    /// <summary>Turns a successful parse into validated <see cref="Options"/>; bad values are usage errors.</summary>
    internal static Options ToOptions(ParseResult result)
    {
        string? fields = result.GetValue(Fields);
        var options = new Options
        {
            Mode = ModeOf(result),
            Format = result.GetValue(Json) ? OutputFormat.Json : result.GetValue(Csv) ? OutputFormat.Csv : OutputFormat.Plain,
            LogFile = result.GetValue(LogFile),
            Debugfs = result.GetValue(Debugfs),
            Fields = fields,
            Guest = result.GetValue(Guest),
            IncludePast = result.GetValue(IncludePast),
            Tracepoints = result.GetValue(Tracepoints),
            SkipZeroRecords = result.GetValue(SkipZero),
            Verbose = result.GetValue(Verbose),
            BinaryStats = result.GetValue(BinaryStats),
            Latency = result.GetValue(Latency),
            Vcpus = result.GetValue(Vcpus),
            GuestFields = result.GetValue(GuestFields),
            Qmp = result.GetValue(Qmp) ?? [],
            ServeAddress = result.GetValue(Serve) ?? Exporter.ListenAddress.Default,
            WebConfigFile = result.GetValue(WebConfigFile),
            CompletionShell = result.GetValue(Completion),
            Engine = result.GetValue(Engine) switch
            {
                null or "auto" => TracepointEngineChoice.Auto,
                "bpf" => TracepointEngineChoice.Bpf,
                "perf" => TracepointEngineChoice.Perf,
                string other => throw new UsageException($"\"{other}\" is not an engine: --engine takes bpf, perf or auto."),
            },
        };

        if (result.GetValue(Pid) is string pidText)
            options = options with { Pid = ParsePid(pidText) };
        if (result.GetValue(Delay) is string delayText)
            options = options with { Delay = ParseDelay(delayText), DelayGiven = true };
        Validate(result, options);
        return options;
    }

    /// <summary>The mode: the first of the options that choose one, in this order; the screen without any.</summary>
    private static RunMode ModeOf(ParseResult result) =>
        result.GetValue(ManPage) ? RunMode.ManPage
        : result.GetValue(Completion) is not null ? RunMode.Completion
        : result.GetValue(Doctor) ? RunMode.Doctor
        : result.GetValue(Fields) == "help" ? RunMode.ListFields
        : result.GetResult(Serve) is not null ? RunMode.Serve
        : result.GetValue(Once) ? RunMode.Batch
        : result.GetValue(Log) || result.GetValue(LogFile) is not null ? RunMode.Log
        : RunMode.Screen;

    /// <summary>Options that need another or choose one thing twice, and values that are empty or name nothing the tool has.</summary>
    private static void Validate(ParseResult result, Options options)
    {
        bool once = result.GetValue(Once);
        bool log = result.GetValue(Log);
        bool logging = log || options.LogFile is not null;
        bool csv = result.GetValue(Csv);
        bool json = result.GetValue(Json);
        bool serving = result.GetResult(Serve) is not null;
        if (csv && !logging)
            throw UsageException.Checked("option -c/--csv requires -l/--log or -L/--log-to-file.");
        if (options.SkipZeroRecords && !logging)
            throw UsageException.Checked("option -z/--skip-zero-records requires -l/--log or -L/--log-to-file.");
        if (once && logging)
            throw new UsageException("options -1/--once and -l/-L choose different modes: use one of them.");
        if (options.Pid != 0 && options.Guest is not null)
            throw new UsageException("options -p/--pid and -g/--guest both choose the VM: use one of them.");
        if (options.LogFile is "")
            throw new UsageException("option -L/--log-to-file needs a file name.");
        if (options.Guest is "")
            throw new UsageException("option -g/--guest needs a guest name.");
        if (json && csv)
            throw new UsageException("options --json and -c/--csv choose different formats: use one of them.");
        if (json && !once && !logging)
            throw new UsageException("option --json requires -1, -l/--log or -L/--log-to-file.");
        if (serving && (once || logging || json))
            throw new UsageException("option --serve is a mode of its own: it does not go with -1, -l, -L or --json.");
        if (serving)
            _ = Exporter.ListenAddress.Parse(options.ServeAddress);
        if (serving && options.DelayGiven)
            throw new UsageException("option -s/--set-delay sets the refresh of the screen and of -l/-L: it does not go with --serve, which samples at each scrape (Prometheus's scrape_interval).");
        // --doctor loads it as the exporter would.
        if (options.WebConfigFile is not null && !serving && options.Mode != RunMode.Doctor)
            throw new UsageException("option --web-config-file configures the metrics endpoint: it goes with --serve.");
        if (options.WebConfigFile is "")
            throw new UsageException("option --web-config-file needs a file name.");
        if (options.CompletionShell is string shell && !ShellCompletion.Shells.Contains(shell))
            throw new UsageException($"\"{shell}\" is not a shell kvm_stat completes for: --completion takes {string.Join(", ", ShellCompletion.Shells)}.");
        if (options.Qmp.Any(string.IsNullOrWhiteSpace))
            throw new UsageException("option --qmp needs a socket path, or auto.");
        if (options.Fields is string fields && fields != "help")
            _ = FieldFilter.Create(fields);
        // --doctor checks it as a run would.
        if (options.GuestFields is not null && !serving && !json && options.Mode != RunMode.Doctor)
            throw new UsageException("option --guest-fields limits the values of each guest: it goes with --serve or --json.");
        if (options.GuestFields is "")
            throw new UsageException("option --guest-fields needs a regular expression.");
        if (options.GuestFields is string guestFields && !FieldFilter.TryCreate(guestFields, out _, out string? error))
            throw new UsageException($"option --guest-fields: \"{Text.EscapeControls(guestFields)}\" is not a valid regular expression: {error}", FieldFilter.RegexFix);
        if (options.Latency && !options.UseTracepoints)
            throw new UsageException("option --latency times exits with the tracepoint engine: add -t.");
        ValidateVcpus(options, once || logging, json, serving);
    }

    /// <summary>--vcpus where something shows each vCPU: one VM's fields, JSON's guests, the exporter's guests, the screen.</summary>
    private static void ValidateVcpus(Options options, bool batchOrLog, bool json, bool serving)
    {
        if (!options.Vcpus)
            return;
        if (!options.UseTracepoints)
            throw new UsageException("option --vcpus counts tracepoints per vCPU thread: add -t.");
        bool oneVm = options.Pid != 0 || options.Guest is not null;
        if (batchOrLog && !oneVm && !json)
            throw new UsageException("option --vcpus shows each vCPU of a VM: with -1, -l or -L add -p/-g (a child per vCPU) or --json (each guest's vCPUs).");
        if (serving && oneVm)
            throw new UsageException("option --vcpus serves each VM's vCPUs, and with -p/-g the exporter serves no VM's own series: leave out -p/-g.");
    }

    internal static int ParsePid(string text)
    {
        // 0 is every VM, the reference's default. As Python's int() reads it: a + before, and _
        // between digits (1_234).
        string digits = text.Trim();
        if (digits.StartsWith('+'))
            digits = digits[1..];
        bool grouped = digits.Length > 0 && char.IsAsciiDigit(digits[0]) && char.IsAsciiDigit(digits[^1]) && !digits.Contains("__", StringComparison.Ordinal);
        if (grouped && int.TryParse(digits.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid >= 0)
            return pid;
        throw new UsageException($"\"{Text.EscapeControls(text)}\" is not a valid pid: -p takes a process id (0: every VM).");
    }

    /// <summary>A delay in seconds, like the reference: 0.1 to 25.5, and a number (not nan or inf).</summary>
    internal static double ParseDelay(string text)
    {
        SampleInterval.Verdict verdict = SampleInterval.Parse(text, out double delay);
        if (verdict == SampleInterval.Verdict.NotANumber)
            throw new UsageException(
                $"\"{Text.EscapeControls(text)}\": Delay must be a number of seconds from {SampleInterval.Format(SampleInterval.Min)} to {SampleInterval.Format(SampleInterval.Max)}.");
        return SampleInterval.OutOfRange(verdict, delay) is string message ? throw UsageException.Checked(message, DelayFix) : delay;
    }

    /// <summary>The reference's words name one bound; the fix names both.</summary>
    private static string DelayFix =>
        $"Give -s/--set-delay a number of seconds from {SampleInterval.Format(SampleInterval.Min)} to {SampleInterval.Format(SampleInterval.Max)}.";
}
