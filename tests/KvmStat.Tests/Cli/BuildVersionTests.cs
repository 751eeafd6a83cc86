using KvmStat.Cli;

namespace KvmStat.Tests.Cli;

/// <summary>What --version makes of the stamp the build writes (Directory.Build.props).</summary>
public class BuildVersionTests
{
    private const string Hash = "754065f1f4d229020fe74d79741987d765202989";

    [Theory]
    [InlineData("1.0.0+" + Hash, "kvm_stat 1.0.0 (commit 754065f1f4d2)")]
    [InlineData("1.0.0+" + Hash + "+dirty", "kvm_stat 1.0.0 (commit 754065f1f4d2+dirty)")]
    [InlineData("1.0.0~rc1+" + Hash, "kvm_stat 1.0.0~rc1 (commit 754065f1f4d2)")]
    [InlineData("1.0.0", "kvm_stat 1.0.0 (commit unknown)")]
    public void TheLineNamesTheReleaseTheCommitAndUncommittedChanges(string stamp, string line) =>
        Assert.Equal(line, BuildVersion.LineOf(stamp));
}
