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
