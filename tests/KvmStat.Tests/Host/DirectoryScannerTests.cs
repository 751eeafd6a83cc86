using KvmStat.Host;

namespace KvmStat.Tests.Host;

public class DirectoryScannerTests
{
    /// <summary>Threads come and go while /proc/PID/task is listed: every scan succeeds, sorted, with the threads that stay.</summary>
    [Fact]
    public async Task EntriesVanishingMidScanAreSkipped()
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-tasks-").FullName;
        try
        {
            foreach (int stays in new[] { 3, 70_000, 9 })
                Directory.CreateDirectory(Path.Join(folder, $"{stays}"));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            Task churn = Task.Run(() =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i = (i + 1) % 500)
                {
                    string entry = Path.Join(folder, $"{100 + i}");
                    Directory.CreateDirectory(entry);
                    Directory.Delete(entry);
                }
            }, TestContext.Current.CancellationToken);
            var scanner = new DirectoryScanner(folder);
            var keys = new List<long>();
            for (int scan = 0; scan < 2000; scan++)
            {
                Assert.Equal(0, scanner.TryScan(keys, DirectoryScanner.ParsePositive));
                Assert.Equal(keys.Order(), keys);
                Assert.Superset(new HashSet<long> { 3, 9, 70_000 }, keys.ToHashSet());
                Assert.All(keys, k => Assert.True(k is 3 or 9 or 70_000 or (>= 100 and < 600)));
            }
            await stop.CancelAsync();
            await churn;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Each entry comes with its inode, so a folder made again under the same name is told apart.</summary>
    [Fact]
    public void EntriesComeWithTheirInodes()
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-inodes-").FullName;
        try
        {
            string entry = Path.Join(folder, "12-7"), again = Path.Join(folder, "again");
            Directory.CreateDirectory(entry);
            var scanner = new DirectoryScanner(folder);
            var entries = new List<(long Key, ulong Inode)>();
            Assert.Equal(0, scanner.TryScan(entries, KvmStat.Guests.VmFolderName.Parse));
            ulong first = Interop.Libc.FileVersion(entry)!.Value.Inode;
            Assert.Equal([(12L << 32 | 7, first)], entries);
            // Made anew while the first still exists: another inode, under the same name.
            Directory.CreateDirectory(again);
            Directory.Delete(entry);
            Directory.Move(again, entry);
            Assert.Equal(0, scanner.TryScan(entries, KvmStat.Guests.VmFolderName.Parse));
            ulong second = Interop.Libc.FileVersion(entry)!.Value.Inode;
            Assert.NotEqual(first, second);
            Assert.Equal([(12L << 32 | 7, second)], entries);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AFolderThatIsGoneIsAnErrorNotAnEmptyList()
    {
        var scanner = new DirectoryScanner("/proc/999999999/task");
        Assert.Equal(Interop.Errno.ENOENT, scanner.TryScan(new List<long>(), DirectoryScanner.ParsePositive));
    }
}
