using KvmStat.Guests;

namespace KvmStat.Tests.Guests;

public class VmNamesTests
{
    [Fact]
    public void AVmsNameIsLookedUpOnceWhileItIsShownAndAgainAfterItWasNot()
    {
        var lookups = new List<int>();
        var names = new VmNames(pid => { lookups.Add(pid); return pid == 7 ? "web01" : null; });
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal("web01", names.Of(7, 1));
            Assert.Equal("web01", names.Of(7, 1));
            Assert.Equal("", names.Of(8, 1));
            names.EndRound();
        }
        Assert.Equal([7, 8], lookups);
        // A round without it: a VM under that pid later is looked up anew (it may be another VM).
        names.EndRound();
        names.Of(7, 1);
        Assert.Equal([7, 8, 7], lookups);
    }

    [Fact]
    public void ANewProcessUnderAShownVmsPidIsLookedUpAnew()
    {
        string name = "old";
        var names = new VmNames(_ => name);
        Assert.Equal("old", names.Of(7, 1));
        names.EndRound();
        name = "new";
        Assert.Equal("old", names.Of(7, 1));
        Assert.Equal("new", names.Of(7, 2));
    }

    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoNameBehind()
    {
        var names = new VmNames(pid => $"vm{pid}");
        for (int round = 0; round < 10; round++)
        {
            for (int pid = round * 1000 + 1; pid <= (round + 1) * 1000; pid++)
                Assert.Equal($"vm{pid}", names.Of(pid, 1));
            names.EndRound();
            Assert.Equal(1000, names.Count);
        }
        names.EndRound();
        Assert.Equal(0, names.Count);
    }
}
