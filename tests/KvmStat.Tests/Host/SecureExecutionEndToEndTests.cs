using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Host;

/// <summary>
/// KVM_STAT_ROOT moves what the tool reads: it is ignored when the binary runs with privileges its
/// user does not have (file capabilities here, set-user-ID alike), whose environment that user chose.
/// </summary>
public class SecureExecutionEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-secure-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (int Code, string Output, string Error) RunAsNobody(string binary, string root) =>
        ChildProcess.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "-1", "-d", "-i", "-s", "0.1", "-f", "exits"], s_timeout,
            environment: new Dictionary<string, string> { ["KVM_STAT_ROOT"] = root });

    [Fact]
    public void AFixtureRootIsIgnoredWhenTheBinaryGainsCapabilities()
    {
        Assert.SkipUnless(File.Exists("/usr/sbin/setcap"), "setcap is not installed (libcap2-bin)");
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("1234-11/exits", 4000);
        foreach (string entry in Directory.EnumerateFileSystemEntries(fixture.Root, "*", SearchOption.AllDirectories).Append(fixture.Root))
            File.SetUnixFileMode(entry, Directory.Exists(entry) ? (UnixFileMode)0x1ed : (UnixFileMode)0x1a4);
        File.SetUnixFileMode(_folder, (UnixFileMode)0x1ed);
        string plain = Path.Join(_folder, "kvm_stat");
        string privileged = Path.Join(_folder, "kvm_stat-caps");
        File.Copy(PublishedBinary.Path, plain);
        File.Copy(PublishedBinary.Path, privileged);
        (int code, _, string error) = ChildProcess.Run("/usr/sbin/setcap", ["cap_dac_read_search+ep", privileged], s_timeout);
        Assert.True(code == 0, error);

        (code, string output, error) = RunAsNobody(plain, fixture.Root);
        Assert.True(code == 0, error);
        Assert.Equal((4000, 0), OutputParsers.Batch(output)["exits"]);

        // With the capability gained at exec the kernel sets AT_SECURE: the real host is read
        // (which has no debugfs KVM folder here), never the folder the user named.
        (code, output, error) = RunAsNobody(privileged, fixture.Root);
        Assert.Equal(1, code);
        Assert.DoesNotContain("4000", output);
        Assert.Contains("/sys/kernel/debug", error);
        Assert.DoesNotContain(fixture.Root, error);
    }
}
