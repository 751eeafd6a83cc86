using System.Diagnostics;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

/// <summary>The published binary against QMP peers that misbehave: it waits for none of them longer than a deadline.</summary>
public class QmpEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-qmp-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ATricklingPeerIsAPlainErrorWithinTheDeadline()
    {
        using var server = new FakeQmpServer(Path.Join(_folder, "trickle.sock"), FakeQmpServer.OneVcpu(5), byteDelay: TimeSpan.FromMilliseconds(1500));
        var clock = Stopwatch.StartNew();
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "--qmp", server.Path);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith($"kvm_stat: error: QMP socket {server.Path} did not greet within 2 s", error);
    }

    /// <summary>A log with a good and a silent peer: the silent one is named once; records keep their interval.</summary>
    [Fact]
    public void ASilentPeerDoesNotHoldUpTheLog()
    {
        using var good = new FakeQmpServer(Path.Join(_folder, "good.sock"), FakeQmpServer.OneVcpu(5));
        using var silent = new FakeQmpServer(Path.Join(_folder, "silent.sock"), FakeQmpServer.OneVcpu(5), silent: true);
        using ChildProcess tool = ChildProcess.StartTool("-l", "-s", "0.2", "--qmp", silent.Path, "--qmp", good.Path, "-f", "exits", "--verbose");
        tool.WaitUntilCounting();
        var clock = Stopwatch.StartNew();
        tool.Output.WaitFor(lines => lines.Count(l => l.Length > 0 && char.IsAsciiDigit(l[0])) >= 10, s_timeout, "ten records");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"ten records at -s 0.2 took {clock.Elapsed}");
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Assert.Single(tool.Error.Lines, l => l.Contains("silent.sock did not greet within 2 s"));
        Assert.Equal(1, silent.Sessions);
    }

    /// <summary>
    /// A log whose first socket is a peer that takes the whole refresh budget at the first read: the
    /// log starts with the other VM, names the slow one once, and goes on.
    /// </summary>
    [Fact]
    public void ASlowPeerTriedFirstDoesNotEndTheLog()
    {
        using var slow = new FakeQmpServer(Path.Join(_folder, "a-slow.sock"), FakeQmpServer.OneVcpu(5), byteDelay: TimeSpan.FromMilliseconds(15));
        using var good = new FakeQmpServer(Path.Join(_folder, "b-good.sock"), FakeQmpServer.OneVcpu(5));
        using ChildProcess tool = ChildProcess.StartTool("-l", "-s", "0.5", "--qmp", slow.Path, "--qmp", good.Path, "-f", "exits", "--verbose");
        tool.WaitUntilCounting();
        tool.Output.WaitFor(lines => lines.Count(l => l.Length > 0 && char.IsAsciiDigit(l[0])) >= 3, s_timeout, "three records");
        Assert.False(tool.HasExited);
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Assert.Single(tool.Error.Lines, l => l.Contains("a-slow.sock"));
    }
}
