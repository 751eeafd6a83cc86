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
        var second = new SharedBody(writer, writer.WriteDetached([Gauges("b", 10)]));
        Assert.NotSame(first.Bytes.Array, second.Bytes.Array);
        first.Done();
        second.Replace();
        ArraySegment<byte> third = writer.WriteDetached([Gauges("c", 10)]);
        Assert.NotSame(first.Bytes.Array, third.Array);
        Assert.Equal(a, Text(first.Bytes));
        // The last scrape of the first text is done: its buffer (the larger) is the next one written.
        first.Done();
        ArraySegment<byte> fourth = writer.WriteDetached([Gauges("d", 10)]);
        Assert.Same(first.Bytes.Array, fourth.Array);
    }
}
