using KvmStat.Sources;

namespace KvmStat.Tests.Sources;

public class VmReadingPoolTests
{
    [Fact]
    public void ARunningVmKeepsItsReadingAndGoneVmsLeaveNothingBehind()
    {
        var pool = new VmReadingPool(fieldCount: 3);
        var readings = new List<VmReading>();
        void Refresh(IEnumerable<int> pids)
        {
            pool.Recycle(readings);
            foreach (int pid in pids)
                readings.Add(pool.Take(pid));
        }

        Refresh([7]);
        VmReading seven = readings[0];
        for (int round = 0; round < 10; round++)
        {
            // 1000 VMs start beside VM 7, which runs throughout; then they all stop.
            Refresh([7, .. Enumerable.Range(round * 1000 + 100, 1000)]);
            Assert.Equal(1001, readings.Count);
            Assert.Same(seven, readings[0]);
            Refresh([7]);
            Refresh([7]);
            Assert.Same(seven, Assert.Single(readings));
            Assert.Equal(0, pool.SpareCount);
        }
    }
}
