using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The arm64 build (./build.sh linux-arm64) run under qemu-user's emulation on this host: the checks
/// that need no perf counters, which an emulator cannot give. test.sh builds it and runs these
/// when qemu-aarch64 is installed (it installs it), and then every one must run.
/// </summary>
[Trait("Category", Category)]
public class Arm64EndToEndTests
{
    public const string Category = "Arm64";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private static string Binary => Path.Join(Path.GetDirectoryName(PublishedBinary.Path)!, "linux-arm64", "kvm_stat");

    private static void Require()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/qemu-aarch64"), "qemu-aarch64 is not installed (./test.sh installs qemu-user)");
        Assert.SkipUnless(File.Exists(Binary), $"{Binary} is missing: ./build.sh linux-arm64 builds it");
    }

    private static (int Code, string Output, string Error) Run(IDictionary<string, string>? environment, params string[] args)
    {
        using ChildProcess tool = ChildProcess.Start("/usr/bin/qemu-aarch64", ["-L", "/usr/aarch64-linux-gnu", Binary, .. args], environment);
        int code = tool.WaitForExit(s_timeout);
        return (code, tool.Output.Text, tool.Error.Text);
    }

    [Fact]
    public void ItIsAnArm64Binary()
    {
        Require();
        byte[] header = new byte[20];
        using (FileStream file = File.OpenRead(Binary))
            file.ReadExactly(header);
        Assert.Equal("\x7f" + "ELF", System.Text.Encoding.ASCII.GetString(header, 0, 4));
        Assert.Equal(183, BitConverter.ToUInt16(header, 18)); // e_machine: EM_AARCH64
    }

    /// <summary>Both builds are one release from one commit (the packages of both architectures need that).</summary>
    [Fact]
    public void ItIsTheSameReleaseAsTheX86Build()
    {
        Require();
        (int code, string output, string error) = Run(null, "--version");
        Assert.Equal(0, code);
        Assert.Empty(error);
        (int x86Code, string x86, _) = ChildProcess.RunTool(s_timeout, "--version");
        Assert.Equal(0, x86Code);
        Assert.StartsWith("kvm_stat ", output);
        Assert.Equal(x86, output);
    }

    [Fact]
    public void HelpListsTheOptions()
    {
        Require();
        (int code, string output, string error) = Run(null, "--help");
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Contains("-1, --batch, --once", output);
        Assert.Contains("--serve", output);
    }

    [Fact]
    public void FieldsHelpReadsThisHostsTracefs()
    {
        Require();
        Assert.SkipUnless(Directory.Exists("/sys/kernel/tracing/events/kvm"), "this host has no kvm tracepoints");
        (int code, string output, string error) = Run(null, "-f", "help");
        Assert.Equal(0, code);
        Assert.Empty(error);
        string[] expected = [.. Directory.EnumerateDirectories("/sys/kernel/tracing/events/kvm").Select(d => "  " + Path.GetFileName(d)).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, output.TrimEnd('\n').Split('\n'));
    }

    /// <summary>Directory scans use open(O_DIRECTORY), whose value differs on arm64: -d lists VM folders that way.</summary>
    [Fact]
    public void OneSampleOfAFixtureDebugfsWithExactValues()
    {
        Require();
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("pages_4k", 0, writable: false);
        fixture.AddDebugfsStat("1234-11/exits", 4000);
        fixture.AddDebugfsStat("1234-11/pages_4k", 512, writable: false);
        fixture.AddDebugfsStat("5678-12/exits", 250);
        fixture.AddDebugfsStat("5678-12/pages_4k", 64, writable: false);
        (int code, string output, string error) = Run(new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root }, "-1", "-d", "-i", "-s", "0.1");
        Assert.True(code == 0, error);
        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(output);
        Assert.Equal((4250, 0), fields["exits"]);
        Assert.Equal((576, 0), fields["pages_4k"]);
    }

    [Fact]
    public void BadInputIsAPlainError()
    {
        Require();
        (int code, _, string error) = Run(null, "-1", "-s", "30");
        Assert.Equal(1, code);
        Assert.Equal("kvm_stat: error: \"30.0\": Delay must be <=25.5\nkvm_stat: Give -s/--set-delay a number of seconds from 0.1 to 25.5.", error.Trim());
        (code, _, error) = Run(null, "-c");
        Assert.Equal(1, code);
        Assert.Contains("requires -l/--log", error);
        Assert.DoesNotContain("   at ", error);
    }
}
