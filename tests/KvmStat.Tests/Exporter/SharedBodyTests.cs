using System.Text;
using KvmStat.Exporter;

namespace KvmStat.Tests.Exporter;

/// <summary>
/// A dense host's exposition is tens of megabytes: its buffer is written into again once nobody
/// sends it, never while a scrape does.
/// </summary>
public class SharedBodyTests
{
    private static MetricFamily Gauges(string name, int count)
    {
        var family = new MetricFamily(name, "gauge", name);
        for (int i = 0; i < count; i++)
            family.Gauge([("guest", $"vm{i}")], i);
        return family;
    }

    private static string Text(ArraySegment<byte> bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public void ABufferNobodySendsIsWrittenInto()
    {
        var writer = new MetricsWriter(false);
        string second = new MetricsWriter(false).Write([Gauges("b", 900)]);
        var first = new SharedBody(writer, writer.WriteDetached([Gauges("a", 1000)]));
        first.Take();
        first.Done();
        first.Replace();
        ArraySegment<byte> next = writer.WriteDetached([Gauges("b", 900)]);
        Assert.Same(first.Bytes.Array, next.Array);
        Assert.Equal(second, Text(next));
    }

    /// <summary>A buffer far larger than the last text needs is not kept: an exposition that shrank (VMs gone) lets it go.</summary>
    [Fact]
    public void ABufferFarLargerThanTheLastTextIsLetGo()
    {
        var writer = new MetricsWriter(false);
        // Past the 64 KiB a writer starts with.
        var large = new SharedBody(writer, writer.WriteDetached([Gauges("a", 20_000)]));
        large.Replace();
        var small = new SharedBody(writer, writer.WriteDetached([Gauges("b", 5)]));
        Assert.Same(large.Bytes.Array, small.Bytes.Array);
        small.Replace();
        ArraySegment<byte> next = writer.WriteDetached([Gauges("c", 5)]);
        Assert.NotSame(large.Bytes.Array, next.Array);
        Assert.InRange(next.Array!.Length, 1, 64 * 1024);
    }

    /// <summary>A text still being sent when a newer one replaces it keeps its buffer; the buffer comes back when its last scrape is done.</summary>
    [Fact]
    public void ABufferBeingSentIsNotWrittenIntoUntilItsScrapeIsDone()
    {
        var writer = new MetricsWriter(false);
        string a = new MetricsWriter(false).Write([Gauges("a", 1000)]);
        var first = new SharedBody(writer, writer.WriteDetached([Gauges("a", 1000)]));
        first.Take();
        first.Take();
        first.Replace();
        var second = new SharedBody(writer, writer.WriteDetached([Gauges("b", 1000)]));
        Assert.NotSame(first.Bytes.Array, second.Bytes.Array);
        first.Done();
        second.Replace();
        ArraySegment<byte> third = writer.WriteDetached([Gauges("c", 1000)]);
        Assert.NotSame(first.Bytes.Array, third.Array);
        Assert.Equal(a, Text(first.Bytes));
        // The last scrape of the first text is done: its buffer is the next one written.
        first.Done();
        ArraySegment<byte> fourth = writer.WriteDetached([Gauges("d", 1000)]);
        Assert.Same(first.Bytes.Array, fourth.Array);
    }
}
