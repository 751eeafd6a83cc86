using System.Text.Json;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The tool as the systemd units run it: an unprivileged user with only the capabilities the
/// units grant (read from them), given with setpriv as systemd gives them. Enough for every mode
/// the units use; without one of them, a plain line names what is missing.
/// </summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class LeastPrivilegeEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void TheUnitsCapabilitiesAreEnoughForTheirModes()
    {
        Kvm.Require();
        string[] capabilities = Unprivileged.UnitCapabilities();
        Assert.Equal(["bpf", "perfmon", "dac_read_search"], capabilities);
        using var guest = GuestVm.Start($"least-{Environment.ProcessId}", vcpus: 2, outs: 50, mmio: 0);

        // The log service's mode (with JSON to see the guest), and BPF counting, as nobody. The
        // exporter's mode: OperatorEndToEndTests.
        using (ChildProcess log = Unprivileged.Start(capabilities, "-l", "--json", "-s", "25.5", "-f", "kvm_pio", "--verbose"))
        {
            log.WaitUntilCounting();
            guest.Run();
            log.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, log.WaitForExit(s_timeout));
            Assert.Contains(log.Error.Lines, l => l.Contains("counting with BPF programs"));
            using JsonDocument record = JsonDocument.Parse(Assert.Single(log.Output.Lines));
            JsonElement mine = record.RootElement.GetProperty("guests").EnumerateArray().Single(g => g.GetProperty("pid").GetInt32() == guest.Pid);
            Assert.Equal(100, mine.GetProperty("fields").GetProperty("kvm_pio").GetProperty("total").GetInt64());
        }

        // The CSV service's debugfs statistics (only instant values under lockdown).
        (int code, string output, string error) = Run(Unprivileged.Arguments(capabilities, "-1", "-d", "-s", "0.2", "-f", "pages_4k"));
        Assert.True(code == 0, error);
        Assert.StartsWith("pages_4k", output);
    }

    [Fact]
    public void WithoutOneOfThemAPlainLineNamesIt()
    {
        Kvm.RequireTracepoints();
        string[] capabilities = Unprivileged.UnitCapabilities();
        (int code, _, string error) = Run(Unprivileged.Arguments(capabilities.Where(c => c != "dac_read_search"), "-1", "-s", "0.2"));
        Assert.Equal(1, code);
        Assert.Contains("CAP_DAC_READ_SEARCH", error);
        (code, _, error) = Run(Unprivileged.Arguments(capabilities.Where(c => c != "bpf"), "-1", "-s", "0.2", "-f", "kvm_pio"));
        Assert.Equal(0, code);
        Assert.Contains("counting with perf counters: BPF is not available", error);
        Assert.Contains("BPF needs CAP_BPF and CAP_PERFMON, or root", error);
        // A process that may make no map learns nothing of the locked-memory limit from one: on
        // Linux 5.11 and later maps are not charged to it, and it is not named.
        if (Environment.OSVersion.Version >= new Version(5, 11))
            Assert.DoesNotContain("locked-memory", error);
        (code, string doctor, _) = Run(Unprivileged.Arguments(capabilities, "--doctor"));
        Assert.Contains(doctor.Split('\n'), l => l.StartsWith("warn    --binary-stats      needs CAP_SYS_PTRACE", StringComparison.Ordinal));
        Assert.Contains(doctor.Split('\n'), l => l.StartsWith("ok      tracepoints (BPF)   has what it needs", StringComparison.Ordinal));
        // What only root was asked: does kvm_exit fire, can exits be timed (--latency's programs).
        Assert.Contains(doctor.Split('\n'), l => l.Contains(" kvm_exit ", StringComparison.Ordinal) && !l.Contains("not checked", StringComparison.Ordinal));
        Assert.Contains(doctor.Split('\n'), l => l.Contains(" exit latency ", StringComparison.Ordinal));
        _ = code;
    }

    /// <summary>
    /// A user who may count nothing gets the error that ends the run, in two lines: no line before
    /// it on what would have been said had counting opened (a pid taken for a VM unconfirmed, the
    /// engine the run fell back to), nor on sources opened before a port it may not take.
    /// </summary>
    [Theory]
    [InlineData("", "cannot read /sys/kernel/tracing: permission denied", "-1", "-s", "0.2", "-p", "2")]
    [InlineData("dac_read_search", "the kernel does not allow this user to count tracepoints", "-1", "-s", "0.2")]
    [InlineData("", "cannot listen on 127.0.0.1:80: Permission denied.", "--serve", "127.0.0.1:80")]
    public void AUserWhoMayCountNothingGetsTwoLines(string capabilities, string cause, params string[] arguments)
    {
        Kvm.RequireTracepoints();
        (int code, string output, string error) = Run(Unprivileged.Arguments(capabilities.Split(',', StringSplitOptions.RemoveEmptyEntries), arguments));
        Assert.Equal(1, code);
        Assert.Empty(output);
        string[] lines = error.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"kvm_stat: error: {cause}", lines[0]);
    }

    private static (int Code, string Output, string Error) Run(string[] arguments) =>
        ChildProcess.Run("setpriv", arguments, s_timeout);
}
