using KvmStat.Sources;
using static KvmStat.Tests.Infrastructure.FakeSource;

namespace KvmStat.Tests.Sources;

/// <summary>Exit latencies as fields of -1, -l and JSON: exits to user space in microseconds, exits in the kernel in nanoseconds.</summary>
public class LatencySourceTests
{
    private static readonly StatField[] s_fields =
    [
        Counter("kvm_userspace_exit"), Counter("kvm_userspace_exit(IO)", "kvm_userspace_exit"),
        Counter("kvm_exit"), Counter("kvm_exit(HLT)", "kvm_exit"),
    ];

    /// <summary>An exit in the kernel takes well under a microsecond to a few: in whole microseconds its p99 of 0.4 µs would read 0, as no exit at all.</summary>
    [Fact]
    public void ExitsInTheKernelAreInNanoseconds()
    {
        var latencies = new ExitLatencies(new FieldSet(s_fields), "kvm_entry");
        var hlt = new LatencyHistogram();
        hlt.Buckets[8] = 10; // [256, 512) ns, 400 ns each
        hlt.Nanoseconds = 4000;
        var io = new LatencyHistogram();
        io.Buckets[14] = 4; // [16.4, 32.8) µs, 20 µs each
        io.Nanoseconds = 80_000;
        latencies.Host[3] = hlt;
        latencies.Host[1] = io;
        var source = new LatencySource(latencies, 0);
        long[] values = new long[source.Fields.Count];
        source.Read(values);
        long Value(string name) => values[source.Fields.ToList().FindIndex(f => f.Name == name)];
        Assert.Equal(400, Value("kernel_exit_p50_ns(HLT)"));
        Assert.Equal(4000, Value("kernel_exit_time_ns(HLT)"));
        Assert.Equal(20, Value("user_exit_p50_us(IO)"));
        Assert.Equal(80, Value("user_exit_time_us(IO)"));
        Assert.Equal("ns", source.Fields.Single(f => f.Name == "kernel_exit_p99_ns").Unit);
    }
}
