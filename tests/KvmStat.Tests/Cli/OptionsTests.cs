using System.Net;
using KvmStat.Cli;
using KvmStat.Exporter;

namespace KvmStat.Tests.Cli;

/// <summary>What each command line asks for: the mode, the format and their details.</summary>
public class OptionsTests
{
    private static Options Parse(params string[] args)
    {
        System.CommandLine.RootCommand root = CommandLine.Build();
        return CommandLine.ToOptions(CommandLine.Parse(root, args));
    }

    /// <summary>As the reference's argparse stores a value: an option given again takes the last one (a wrapper's default overridden after it).</summary>
    [Fact]
    public void AnOptionGivenAgainTakesTheLastValue()
    {
        Options options = Parse("-l", "-s", "1", "-f", "kvm_mmio", "--set-delay", "3", "-f", "kvm_pio", "-g", "a", "-g", "b");
        Assert.Equal((3.0, "kvm_pio", "b"), (options.Delay, options.Fields, options.Guest));
        Assert.Equal(("/tmp/b.log", 12), (Parse("-L", "/tmp/a.log", "-L", "/tmp/b.log").LogFile, Parse("-1", "-p", "11", "-p", "12").Pid));
    }

    /// <summary>As the reference's argparse: any unambiguous start of a long option is that option.</summary>
    [Fact]
    public void ALongOptionMayBeShortenedWhileItIsTheOnlyOneSoStarting()
    {
        Options options = Parse("--log-to", "/tmp/k.log", "--cs", "--set=0.5", "--fie=exits", "--debugfs-i", "--debugfs", "--tr");
        Assert.Equal(RunMode.Log, options.Mode);
        Assert.Equal("/tmp/k.log", options.LogFile);
        Assert.Equal(OutputFormat.Csv, options.Format);
        Assert.Equal(0.5, options.Delay);
        Assert.Equal("exits", options.Fields);
        Assert.True(options.IncludePast && options.Debugfs && options.Tracepoints);
        // After "--" nothing is an option.
        Assert.Equal(["-1", "--", "--tr"], LongOptionPrefixes.Expand(CommandLine.Build(), ["-1", "--", "--tr"]));

        var e = Assert.Throws<UsageException>(() => Parse("--d", "-1"));
        Assert.Equal("ambiguous option: --d could match --debugfs, --debugfs-include-past, --doctor", e.Message);
        // A start the reference read as its own option still is (--guest-fields, --serve, --binary-stats are this tool's).
        Assert.Equal("vm1", Parse("--g", "vm1", "-1").Guest);
        Assert.Equal(0.2, Parse("--se", "0.2", "-l").Delay);
        Assert.Equal(RunMode.Batch, Parse("--b").Mode);
        // An option's value is the option's, whatever it looks like: never expanded, never a response file.
        Assert.Equal("--log-t", Parse("-L", "--log-t").LogFile);
        Assert.Equal("--log-t", Parse("-lL", "--log-t").LogFile);
        Assert.Equal("--tr", Parse("-1", "-f", "--tr").Fields);
        Assert.Equal("--d", Parse("-1", "--guest", "--d").Guest);
        Assert.Equal("@x", Parse("-1", "-f", "@x").Fields);
        // Spelled out, an option is itself even where it starts another (--log, --log-to-file).
        Assert.Equal(RunMode.Log, Parse("--log").Mode);
        Assert.Null(Parse("--log").LogFile);
    }

    /// <summary>As the reference: -L with -l logs to the file; -p 0 is every VM.</summary>
    [Fact]
    public void LogWithALogFileLogsToTheFileAndPidZeroIsEveryVm()
    {
        Options options = Parse("-l", "-L", "/tmp/k.log");
        Assert.Equal(RunMode.Log, options.Mode);
        Assert.Equal("/tmp/k.log", options.LogFile);
        Assert.Equal(0, Parse("-1", "-p", "0").Pid);
        Assert.Equal(7, Parse("-1", "-p", "7").Pid);
    }

    [Theory]
    [InlineData(RunMode.Screen)]
    [InlineData(RunMode.Batch, "-1")]
    [InlineData(RunMode.Batch, "--batch", "-d")]
    [InlineData(RunMode.Log, "-l")]
    [InlineData(RunMode.Log, "-L", "/tmp/x", "-c")]
    [InlineData(RunMode.Serve, "--serve")]
    [InlineData(RunMode.Doctor, "--doctor", "-1")]
    [InlineData(RunMode.Doctor, "--doctor", "--guest-fields", "kvm_pio")]
    [InlineData(RunMode.ListFields, "-f", "help", "-1")]
    [InlineData(RunMode.ManPage, "--man-page", "--doctor")]
    internal void EachOptionChoosesItsMode(RunMode mode, params string[] args) => Assert.Equal(mode, Parse(args).Mode);

    [Fact]
    public void FormatsSourcesAndDetails()
    {
        Options options = Parse("-l", "--json", "-s", "0.5", "-p", "42", "-d", "-t", "-f", "exits");
        Assert.Equal(OutputFormat.Json, options.Format);
        Assert.Equal(0.5, options.Delay);
        Assert.True(options.DelayGiven);
        Assert.Equal(42, options.Pid);
        Assert.True(options.Debugfs && options.UseTracepoints);
        Assert.Equal("exits", options.Fields);
        Assert.Null(options.LogFile);

        Assert.Equal(OutputFormat.Csv, Parse("-L", "/var/log/k.csv", "-c").Format);
        Assert.Equal("/var/log/k.csv", Parse("-L", "/var/log/k.csv", "-c").LogFile);
        Assert.Equal(OutputFormat.Plain, Parse("-1").Format);
        // -1 counts for one second unless -s is given; the screen and logs default to 3 s.
        Assert.Equal(1.0, Parse("-1").BatchSeconds);
        Assert.Equal(3.0, Parse("-1").Delay);
        Assert.Equal(25.5, Parse("-1", "-s", "25.5").BatchSeconds);
        // Another source alone turns tracepoints off; -t brings them back.
        Assert.False(Parse("-1", "-d").UseTracepoints);
        Assert.False(Parse("-1", "--binary-stats").UseTracepoints);
        Assert.False(Parse("-1", "--qmp", "auto").UseTracepoints);
        Assert.Null(Parse("-1", "--qmp", "auto").QmpSockets);
        Assert.Equal(["/a", "/b"], Parse("-1", "--qmp", "/a", "--qmp", "/b").QmpSockets!);
        Assert.Equal(ListenAddress.Default, Parse("--serve").ServeAddress);
        Assert.Equal("9100", Parse("--serve", "9100").ServeAddress);
    }

    [Theory]
    [InlineData("9100", "127.0.0.1", 9100)]
    [InlineData("0.0.0.0:80", "0.0.0.0", 80)]
    [InlineData("[::1]:9576", "::1", 9576)]
    [InlineData("*:9576", "::", 9576)]
    [InlineData("localhost:1", "127.0.0.1", 1)]
    public void ServeAddresses(string text, string address, int port)
    {
        IPEndPoint endpoint = ListenAddress.Parse(text);
        Assert.Equal(IPAddress.Parse(address), endpoint.Address);
        Assert.Equal(port, endpoint.Port);
    }

    [Theory]
    [InlineData("0", "the port must be 1 to 65535")]
    [InlineData("127.0.0.1:65536", "the port must be 1 to 65535")]
    [InlineData("host:80", "is not an IP address")]
    [InlineData("127.0.0.1:", "the port must be 1 to 65535")]
    [InlineData("badaddr", "\"badaddr\" is not a valid address to serve on: it is PORT, HOST:PORT or [IPv6]:PORT, and the port must be 1 to 65535.")]
    [InlineData("[::1", "\"[::1\" is not a valid address to serve on: \"[:\" is not an IP address.")]
    [InlineData("\u001b[2J:80", "\"\\e[2J:80\" is not a valid address to serve on")]
    public void BadServeAddresses(string text, string message) =>
        Assert.Contains(message, Assert.Throws<UsageException>(() => ListenAddress.Parse(text)).Message);
}
