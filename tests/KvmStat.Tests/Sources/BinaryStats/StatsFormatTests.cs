using System.Runtime.InteropServices;
using KvmStat.Sources.BinaryStats;
using CsCheck;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

public class StatsFormatTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-blob-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private KvmStatsFile Open(byte[] bytes) => StatsBlob.Open(bytes, _folder);

    [Fact]
    public void ReadsEveryTypeUnitAndBase()
    {
        var blob = new StatsBlob()
            .Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 108)
            .Add("blocking", KvmStatType.Instant, KvmStatUnit.Boolean, 0, 1)
            .Add("max_mmu_rmap_size", KvmStatType.Peak, KvmStatUnit.None, 0, 77)
            .Add("halt_wait_ns", KvmStatType.Cumulative, KvmStatUnit.Seconds, -9, 123456)
            .Add("bytes_moved", KvmStatType.Cumulative, KvmStatUnit.Bytes, 0, 4096)
            .Add("tsc_cycles", KvmStatType.Cumulative, KvmStatUnit.Cycles, 0, 1)
            .Add("halt_wait_hist", KvmStatType.LogHistogram, KvmStatUnit.Seconds, -9, 0, 1, 2, 3)
            .Add("linear", StatsBlob.Flags(KvmStatType.LinearHistogram), 0, 10, 5, 6)
            .Add("pow2", StatsBlob.Flags(KvmStatType.Cumulative, KvmStatUnit.Bytes, base2: true), 10, 0, 3);
        using KvmStatsFile file = Open(blob.Build());
        Assert.Equal(0, file.Refresh());

        Assert.Equal("kvm-1234/vcpu-0", file.Layout.Id);
        Assert.Equal(0, file.Layout.VcpuIndex);
        KvmStatDescriptor[] d = [.. file.Layout.Descriptors];
        Assert.Equal(9, d.Length);
        Assert.Equal(new KvmStatDescriptor("exits", KvmStatType.Cumulative, KvmStatUnit.None, 10, 0, 1, 0, 0), d[0]);
        Assert.Equal((KvmStatType.Instant, KvmStatUnit.Boolean), (d[1].Type, d[1].Unit));
        Assert.Equal(KvmStatType.Peak, d[2].Type);
        Assert.Equal((KvmStatUnit.Seconds, -9, 1e-9), (d[3].Unit, d[3].Exponent, d[3].Scale));
        Assert.Equal(KvmStatUnit.Bytes, d[4].Unit);
        Assert.Equal(KvmStatUnit.Cycles, d[5].Unit);
        Assert.Equal((KvmStatType.LogHistogram, 4), (d[6].Type, d[6].Size));
        Assert.Equal((KvmStatType.LinearHistogram, 10), (d[7].Type, d[7].BucketSize));
        Assert.Equal((2, 10, 1024.0), (d[8].Base, d[8].Exponent, d[8].Scale));

        Assert.Equal([108UL], file.Values(d[0]).ToArray());
        Assert.Equal([0UL, 1, 2, 3], file.Values(d[6]).ToArray());
        Assert.Equal([5UL, 6], file.Values(d[7]).ToArray());
        Assert.Equal([3UL], file.Values(d[8]).ToArray());
        Assert.Equal(-1, Open(new StatsBlob { Id = "kvm-1234" }.Add("pages_4k", KvmStatType.Instant, KvmStatUnit.None, 0, 5).Build()).Layout.VcpuIndex);
    }

    [Fact]
    public void ValuesAreReadAgainAtEachRefresh()
    {
        byte[] bytes = new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 1).Build();
        string path = Path.Join(_folder, "live");
        File.WriteAllBytes(path, bytes);
        using KvmStatsFile file = KvmStatsFile.Open(new Interop.FileDescriptor(Interop.Libc.Open(Interop.NulTerminated(path), 0)));
        file.Refresh();
        Assert.Equal(1UL, file.Values(file.Layout.Descriptors[0])[0]);
        MemoryMarshal.Write(bytes.AsSpan(bytes.Length - 8), 99UL);
        File.WriteAllBytes(path, bytes);
        file.Refresh();
        Assert.Equal(99UL, file.Values(file.Layout.Descriptors[0])[0]);
    }

    public static TheoryData<string, int, string> Corruptions => new()
    {
        { "header truncated", 10, "stats header truncated" },
        { "descriptors truncated", 24 + 48 + 20, "stats descriptors truncated" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void TruncatedFilesAreClearErrors(string what, int length, string message)
    {
        byte[] bytes = new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 1)
            .Add("halt_exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 1).Build();
        var e = Assert.Throws<KvmStatsFormatException>(() => Open(bytes[..length]));
        Assert.Contains(message, e.Message);
        Assert.NotEmpty(what);
    }

    [Theory]
    [InlineData(0xF, 0, "unknown type, unit or base")]         // type 15
    [InlineData(0x50, 0, "unknown type, unit or base")]        // unit 5
    [InlineData(0x200, 0, "unknown type, unit or base")]       // base 2
    [InlineData(3, 0, "linear histogram with bucket size 0")]
    public void CorruptDescriptorsAreClearErrors(uint flags, uint bucketSize, string message)
    {
        byte[] bytes = new StatsBlob().Add("bad", flags, 0, bucketSize, 1).Build();
        var e = Assert.Throws<KvmStatsFormatException>(() => Open(bytes));
        Assert.Contains(message, e.Message);
        Assert.Contains("bad", e.Message);
    }

    [Fact]
    public void ImplausibleHeadersAreRejected()
    {
        byte[] bytes = new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 1).Build();
        byte[] hugeName = (byte[])bytes.Clone();
        MemoryMarshal.Write(hugeName.AsSpan(4), 1u << 30);
        Assert.Contains("name_size", Assert.Throws<KvmStatsFormatException>(() => Open(hugeName)).Message);

        byte[] manyDescriptors = (byte[])bytes.Clone();
        MemoryMarshal.Write(manyDescriptors.AsSpan(8), 1u << 24);
        Assert.Contains("num_desc", Assert.Throws<KvmStatsFormatException>(() => Open(manyDescriptors)).Message);

        byte[] misaligned = (byte[])bytes.Clone();
        MemoryMarshal.Write(misaligned.AsSpan(24 + 48 + 8), 3u);
        Assert.Contains("bad size 1 or offset 3", Assert.Throws<KvmStatsFormatException>(() => Open(misaligned)).Message);

        byte[] multiValued = new StatsBlob().Add("exits", KvmStatType.Cumulative, KvmStatUnit.None, 0, 1, 2).Build();
        Assert.Contains("2 values for a single-valued statistic", Assert.Throws<KvmStatsFormatException>(() => Open(multiValued)).Message);

        byte[] unnamed = new StatsBlob().Add("", KvmStatType.Cumulative, KvmStatUnit.None, 0, 1).Build();
        Assert.Contains("has no name", Assert.Throws<KvmStatsFormatException>(() => Open(unnamed)).Message);
    }

    [Fact]
    public void RandomBytesNeverCrash()
    {
        Gen.Byte.Array[0, 400].Sample(bytes =>
        {
            try
            {
                using KvmStatsFile file = Open(bytes);
                file.Refresh();
            }
            catch (KvmStatsFormatException)
            {
            }
        }, iter: 300);
    }

    [Theory]
    [InlineData(new ulong[] { 0, 0, 10, 0 }, 0.5, 3)]     // bucket 2 covers [2, 4): the middle
    [InlineData(new ulong[] { 10, 0, 0, 0 }, 0.99, 0.99)] // bucket 0 covers [0, 1)
    [InlineData(new ulong[] { 0, 0, 0, 4 }, 0.5, 4)]      // the open last bucket gives its lower bound
    [InlineData(new ulong[] { 0, 0, 0, 0 }, 0.5, 0)]
    public void LogHistogramPercentiles(ulong[] buckets, double fraction, double expected)
    {
        var descriptor = new KvmStatDescriptor("h", KvmStatType.LogHistogram, KvmStatUnit.Seconds, 10, -9, buckets.Length, 0, 0);
        Assert.Equal(expected, descriptor.Percentile(buckets, fraction), 6);
    }

    [Fact]
    public void LinearHistogramPercentilesAndUnits()
    {
        var descriptor = new KvmStatDescriptor("h", KvmStatType.LinearHistogram, KvmStatUnit.Seconds, 10, -9, 4, 0, 1000);
        // 50 samples in [0, 1000), 50 in [1000, 2000): p90 is 80 % into the second bucket.
        Assert.Equal(1800, descriptor.Percentile([50, 50, 0, 0], 0.9), 6);
        Assert.Equal(("us", 1e-3), descriptor.Shown);
        Assert.Equal("bytes", (descriptor with { Unit = KvmStatUnit.Bytes }).Shown.Suffix);
        Assert.Equal("cycles", (descriptor with { Unit = KvmStatUnit.Cycles }).Shown.Suffix);
    }
}
