using System.Text;
using KvmStat.Sources;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Host;

namespace KvmStat.Tests.Host;

public class SmallParserTests
{
    [Theory]
    [InlineData("0-1\n", new[] { 0, 1 })]
    [InlineData("0-3,8,10-11", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [InlineData("5", new[] { 5 })]
    public void ParsesOnlineCpuLists(string text, int[] cpus) => Assert.Equal(cpus, OnlineCpus.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("a-b")]
    [InlineData("3-1")]
    public void RejectsBadCpuLists(string text) => Assert.Null(OnlineCpus.Parse(text));

    /// <summary>/proc/PID/stat: running unless Z or X (after the last ')', whatever the name holds), and field 22, the start time.</summary>
    [Theory]
    [InlineData("42 (qemu) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0\n", true, 987654L)]
    [InlineData("42 (a) Z (b) R 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0\n", true, 55L)]
    [InlineData("42 (qemu) Z 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0\n", false, 0L)]
    [InlineData("42 (qemu) X 1", false, 0L)]
    [InlineData("42 (qemu) S 1 42", true, 0L)]
    [InlineData("42 (qemu)", false, 0L)]
    [InlineData("", false, 0L)]
    public void ParsesProcessStat(string stat, bool running, long start)
    {
        Assert.Equal(running, KvmStat.Guests.ProcessStat.TryParse(Encoding.ASCII.GetBytes(stat), out long parsed));
        Assert.Equal(start, parsed);
    }

    /// <summary>The longest stat a process can have before its start time (a 64-byte name, 20-digit numbers) is read whole.</summary>
    [Fact]
    public void ReadsTheStartTimeOfTheLongestStat()
    {
        string path = Path.GetTempFileName();
        try
        {
            string numbers = string.Join(' ', Enumerable.Repeat("18446744073709551615", 18));
            File.WriteAllText(path, $"4194304 ({new string(')', 64)}) S {numbers} 12345678901234567 0 0\n");
            Assert.True(KvmStat.Guests.ProcessStat.TryRead(KvmStat.Interop.NulTerminated(path), out long start));
            Assert.Equal(12345678901234567, start);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ParsesDirectoryEntries()
    {
        // Two linux_dirent64 records: "." and "4711".
        byte[] records = [.. Record("."), .. Record("4711"), .. Record("self")];
        var keys = new List<long>();
        DirectoryScanner.ParseEntries(records, keys, DirectoryScanner.ParsePositive);
        Assert.Equal([4711L], keys);
    }

    private static byte[] Record(string name)
    {
        int length = (19 + name.Length + 1 + 7) / 8 * 8;
        byte[] record = new byte[length];
        BitConverter.GetBytes((ushort)length).CopyTo(record, 16);
        record[18] = 4;
        Encoding.ASCII.GetBytes(name).CopyTo(record, 19);
        return record;
    }
}
