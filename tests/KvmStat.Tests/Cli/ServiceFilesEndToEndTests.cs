using System.Diagnostics;
using System.Text.Json;
using KvmStat.Tests.Architecture;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>contrib/: the manual page, the systemd units, the logrotate snippet, the Prometheus rules and the Grafana dashboard, checked by their own tools.</summary>
public class ServiceFilesEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs a tool to its end: its exit status, and what it wrote to either stream.</summary>
    private static (int Code, string Output) Run(string file, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(file, args, s_timeout);
        return (code, output + error);
    }

    [Fact]
    public void TheManualPageListsEveryOptionOfTheHelpAndRendersCleanly()
    {
        string manual = Path.Join(Path.GetDirectoryName(PublishedBinary.Path)!, "kvm_stat.1");
        Assert.True(File.Exists(manual), "build.sh writes artifacts/kvm_stat.1");
        (int code, string help) = Run(PublishedBinary.Path, "--help");
        Assert.Equal(0, code);
        string page = File.ReadAllText(manual);
        string[] options = [.. help.Split('\n').Where(l => l.StartsWith("  -", StringComparison.Ordinal))
            .SelectMany(l => l.Trim().Split(' ')[0..].TakeWhile(t => t.StartsWith('-')).Select(t => t.TrimEnd(',')))];
        Assert.True(options.Length >= 20, "options read from -h");
        foreach (string option in options)
            Assert.Contains($"\\fB{option.Replace("-", "\\-")}\\fR", page);
        Assert.Contains(".SH INTERACTIVE COMMANDS", page);
        // The header names the release and the commit's date (build.sh passes SOURCE_DATE_EPOCH).
        string release = File.ReadAllText(Path.Join(Repository.Root, "VERSION")).Trim();
        Assert.Matches($@"^\.TH KVM_STAT 1 ""\d{{4}}-\d\d-\d\d"" ""kvm_stat {System.Text.RegularExpressions.Regex.Escape(release)}"" ""User Commands""\n", page);
        // FILES names what the packages install beside the binary.
        string files = page[page.IndexOf(".SH FILES", StringComparison.Ordinal)..page.IndexOf(".SH SEE ALSO", StringComparison.Ordinal)].Replace("\\-", "-");
        foreach (string file in new[] { "kvm_stat-exporter.service", "kvm_stat.service", "/etc/default/kvm-stat", "/etc/sysconfig/kvm-stat",
            "/etc/logrotate.d/kvm-stat", "/usr/share/kvm-stat", "/var/log/kvm_stat/kvm_stat.csv" })
            Assert.Contains(file, files);

        Assert.SkipUnless(File.Exists("/usr/bin/groff"), "groff is not installed");
        (code, string warnings) = Run("groff", "-man", "-Tutf8", "-ww", "-z", manual);
        Assert.True(code == 0 && warnings.Trim().Length == 0, $"groff: {warnings}");
    }

    [Fact]
    public void TheSystemdUnitsVerify()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/systemd-analyze"), "systemd-analyze is not installed");
        string folder = Directory.CreateTempSubdirectory("kvm_stat-units-").FullName;
        try
        {
            var units = new List<string>();
            foreach (string unit in Directory.EnumerateFiles(Path.Join(Repository.Root, "contrib"), "*.service"))
            {
                string copy = Path.Join(folder, Path.GetFileName(unit));
                File.WriteAllText(copy, File.ReadAllText(unit).Replace("/usr/local/bin/kvm_stat", PublishedBinary.Path));
                units.Add(copy);
            }
            Assert.Equal(2, units.Count);
            (int code, string output) = Run("systemd-analyze", ["verify", "--man=no", .. units]);
            Assert.True(code == 0, $"systemd-analyze verify: {output}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Each unit takes its arguments from the configuration file (contrib/kvm_stat.default, installed
    /// as /etc/default/kvm-stat or /etc/sysconfig/kvm-stat) and has the same default of its own for
    /// when the file is missing.
    /// </summary>
    [Fact]
    public void TheUnitsTakeTheirArgumentsFromTheConfigurationFile()
    {
        Dictionary<string, string> defaults = File.ReadAllLines(Path.Join(Repository.Root, "contrib", "kvm_stat.default"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Trim('"'));
        Assert.Equal(["KVM_STAT_EXPORTER_ARGS", "KVM_STAT_LOG_ARGS"], defaults.Keys.Order(StringComparer.Ordinal));
        foreach ((string unit, string variable) in new[] { ("kvm_stat-exporter.service", "KVM_STAT_EXPORTER_ARGS"), ("kvm_stat.service", "KVM_STAT_LOG_ARGS") })
        {
            string[] lines = File.ReadAllLines(Path.Join(Repository.Root, "contrib", unit));
            // The unit's default first: the file, read after it, wins (systemd.exec).
            int own = Array.IndexOf(lines, $"Environment=\"{variable}={defaults[variable]}\"");
            int file = Array.IndexOf(lines, "EnvironmentFile=-/etc/default/kvm-stat");
            Assert.True(own >= 0 && file > own, $"{unit}: Environment={variable} with the file's default, then EnvironmentFile=");
            // $VAR unbraced: systemd splits it into words, one argument each.
            Assert.Single(lines, l => l.StartsWith($"ExecStart=/usr/local/bin/kvm_stat ${variable}", StringComparison.Ordinal) && !l.Contains("${", StringComparison.Ordinal));
        }
        Assert.Equal("--serve 127.0.0.1:9576", defaults["KVM_STAT_EXPORTER_ARGS"]);
        Assert.Equal("-dtcz -s 10", defaults["KVM_STAT_LOG_ARGS"]);
    }

    /// <summary>Both units run as their own user with a few capabilities and systemd's sandboxing: exposure 3.0 at most.</summary>
    [Fact]
    public void TheSystemdUnitsExposeLittle()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/systemd-analyze"), "systemd-analyze is not installed");
        foreach (string unit in Directory.EnumerateFiles(Path.Join(Repository.Root, "contrib"), "*.service"))
        {
            (int code, string output) = Run("systemd-analyze", "security", "--offline=yes", unit);
            Assert.True(code == 0, $"systemd-analyze security: {output}");
            var match = System.Text.RegularExpressions.Regex.Match(output, @"Overall exposure level for \S+: (\d+\.\d+)");
            Assert.True(match.Success, output);
            double exposure = double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(exposure <= 3.0, $"{Path.GetFileName(unit)}: exposure {exposure}");
            string text = File.ReadAllText(unit);
            Assert.Contains("DynamicUser=yes", text);
            Assert.Contains("AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH\n", text);
            Assert.Contains("CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH\n", text);
            // Bounded whatever other users do; the exporter asks sock_diag which local user is behind a client.
            Assert.Matches(@"\nMemoryMax=\d+[MG]\n", text);
            Assert.Matches(@"\nTasksMax=\d+\n", text);
            if (unit.EndsWith("exporter.service", StringComparison.Ordinal))
                Assert.Contains("RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK\n", text);
        }
    }

    /// <summary>promtool loads every rule of contrib/ (none silently dropped) and its unit tests pass.</summary>
    [Fact]
    public void TheAlertRulesPassPromtoolsCheckAndTheirUnitTests()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/promtool"), "promtool is not installed (./test.sh installs prometheus)");
        string rules = Path.Join(Repository.Root, "contrib", "kvm_stat.rules.yml");
        (int code, string output) = Run("promtool", "check", "rules", rules);
        Assert.True(code == 0, output);
        int written = File.ReadLines(rules).Count(l => l.TrimStart().StartsWith("- record:", StringComparison.Ordinal)
            || l.TrimStart().StartsWith("- alert:", StringComparison.Ordinal));
        Assert.True(written >= 11, $"{written} rules in the file");
        Assert.Contains($"SUCCESS: {written} rules found", output);
        (code, output) = Run("promtool", "test", "rules", Path.Join(Repository.Root, "contrib", "kvm_stat.rules.test.yml"));
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    /// <summary>What Grafana needs of the dashboard beyond its queries (those are checked against a real Prometheus in OperatorEndToEndTests).</summary>
    [Fact]
    public void TheDashboardIsWellFormed()
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(Path.Join(Repository.Root, "contrib", "kvm_stat.grafana.json")));
        JsonElement[] panels = [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()];
        Assert.Equal(panels.Length, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var cells = new HashSet<(int X, int Y)>();
        foreach (JsonElement panel in panels)
        {
            JsonElement grid = panel.GetProperty("gridPos");
            int x = grid.GetProperty("x").GetInt32(), y = grid.GetProperty("y").GetInt32(), w = grid.GetProperty("w").GetInt32(), h = grid.GetProperty("h").GetInt32();
            Assert.InRange(x + w, 1, 24);
            for (int column = x; column < x + w; column++)
            {
                for (int row = y; row < y + h; row++)
                    Assert.True(cells.Add((column, row)), $"{panel.GetProperty("title")} overlaps another panel");
            }
            if (panel.GetProperty("type").GetString() == "row")
                continue;
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.False(string.IsNullOrWhiteSpace(panel.GetProperty("description").GetString()));
            JsonElement[] targets = [.. panel.GetProperty("targets").EnumerateArray()];
            Assert.NotEmpty(targets);
            Assert.Equal(targets.Length, targets.Select(t => t.GetProperty("refId").GetString()).Distinct().Count());
        }
        Assert.Contains(dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray(),
            v => v.GetProperty("name").GetString() == "datasource" && v.GetProperty("type").GetString() == "datasource");
    }

    [Fact]
    public void LogrotateRotatesALiveCsvLog()
    {
        Assert.SkipUnless(File.Exists("/usr/sbin/logrotate"), "logrotate is not installed");
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("7-1/exits", 0);
        string log = Path.Join(fixture.Root, "kvm_stat.csv");
        using ChildProcess tool = ChildProcess.Start(PublishedBinary.Path, ["-d", "-c", "-L", log, "-s", "0.1", "--verbose"],
            new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root });
        tool.WaitUntilCounting();
        WaitFor(() => File.ReadAllLines(log).Length >= 3);

        string config = File.ReadAllText(Path.Join(Repository.Root, "contrib", "kvm_stat.logrotate"))
            .Replace("/var/log/kvm_stat/kvm_stat.csv", log)
            .Replace("systemctl reload kvm_stat.service >/dev/null 2>&1 || true", $"kill -HUP {tool.Pid}")
            .Replace("size 10M", "size 1");
        string configFile = Path.Join(fixture.Root, "logrotate.conf");
        File.WriteAllText(configFile, config);
        (int code, string output) = Run("/usr/sbin/logrotate", "-s", Path.Join(fixture.Root, "state"), configFile);
        Assert.True(code == 0, $"logrotate: {output}");

        // delaycompress: the rotated file stays plain until the next rotation.
        string rotated = log + ".1";
        Assert.True(File.Exists(rotated));
        WaitFor(() => File.Exists(log) && File.ReadAllLines(log).Length >= 2);
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Assert.Equal("timestamp,exits", File.ReadAllLines(log)[0]);
        Assert.Equal("timestamp,exits", File.ReadAllLines(rotated)[0]);
        Assert.All(File.ReadAllLines(log).Skip(1).Concat(File.ReadAllLines(rotated).Skip(1)), line => Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,0$", line));
    }

    /// <summary>
    /// Under nohup (SIGHUP ignored from the start, which the runtime would leave as it is): -L
    /// still reopens its file on SIGHUP, and a log to standard output, which a hangup would end,
    /// ignores it as nohup asks.
    /// </summary>
    [Fact]
    public void UnderNohupSighupStillReopensTheLogAndEndsNothing()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("7-1/exits", 0);
        string log = Path.Join(fixture.Root, "kvm_stat.csv");
        var environment = new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root };
        using ChildProcess logger = ChildProcess.Start("nohup", [PublishedBinary.Path, "-d", "-c", "-L", log, "-s", "0.1", "--verbose"], environment);
        using ChildProcess plain = ChildProcess.Start("nohup", [PublishedBinary.Path, "-d", "-l", "-s", "0.1", "--verbose"], environment);
        logger.WaitUntilCounting();
        plain.WaitUntilCounting();
        // Started with SIGHUP ignored, the tool catches it all the same.
        Assert.True(CatchesHangups(logger.Pid) && CatchesHangups(plain.Pid), "SIGHUP caught under nohup");

        File.Move(log, log + ".1");
        logger.Signal(ChildProcess.SIGHUP);
        plain.Signal(ChildProcess.SIGHUP);
        WaitFor(() => File.Exists(log) && File.ReadAllLines(log).Length >= 2);
        Assert.Equal("timestamp,exits", File.ReadAllLines(log)[0]);
        int records = OutputParsers.RecordCount(plain.Output.Lines);
        plain.Output.WaitFor(lines => OutputParsers.RecordCount(lines) >= records + 3, s_timeout, "records after the hangup");
        Assert.False(plain.HasExited);

        logger.Signal(ChildProcess.SIGTERM);
        plain.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, logger.WaitForExit(s_timeout));
        Assert.Equal(0, plain.WaitForExit(s_timeout));
    }

    /// <summary>Whether a process catches SIGHUP (bit 0 of SigCgt in /proc/PID/status).</summary>
    private static bool CatchesHangups(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("SigCgt:", StringComparison.Ordinal)) is string line
        && (Convert.ToUInt64(line["SigCgt:".Length..].Trim(), 16) & 1) == 1;

    private static void WaitFor(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > s_timeout)
                throw new TimeoutException("condition not reached");
            Thread.Sleep(50);
        }
    }
}
