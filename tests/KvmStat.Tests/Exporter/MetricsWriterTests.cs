using KvmStat.Exporter;

namespace KvmStat.Tests.Exporter;

public class MetricsWriterTests
{
    [Fact]
    public void LabelValuesAreEscapedAndNamesSanitised()
    {
        var family = new MetricFamily("kvm-odd.name", "gauge", "help with \\ and\nnewline");
        family.Gauge([("guest", "a\\b\"c\nd\uD800")], 3);
        Assert.Equal(
            "# HELP kvm_odd_name help with \\\\ and\\nnewline\n# TYPE kvm_odd_name gauge\nkvm_odd_name{guest=\"a\\\\b\\\"c\\nd\uFFFD\"} 3\n",
            new MetricsWriter(openMetrics: false).Write([family]));
        Assert.Equal("_9lives", MetricsWriter.SanitizeName("9lives"));
        Assert.Equal("+Inf", MetricsWriter.Float(double.PositiveInfinity));
        Assert.Equal("0.5", MetricsWriter.Float(0.5));
    }

    [Fact]
    public void EmptyFamiliesAreLeftOutAndATwiceWrittenOneIsAnError()
    {
        var empty = new MetricFamily("nothing", "counter", "none");
        var once = new MetricFamily("once", "counter", "one");
        once.Counter([], 1);
        Assert.Equal("# HELP once_total one\n# TYPE once_total counter\nonce_total 1\n", new MetricsWriter(false).Write([empty, once]));
        Assert.Equal("# HELP once one\n# TYPE once counter\nonce_total 1\n# EOF\n", new MetricsWriter(true).Write([empty, once]));
        Assert.Throws<InvalidOperationException>(() => new MetricsWriter(false).Write([once, once]));
    }

    [Fact]
    public void TheContentTypesNameTheirFormats()
    {
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", new MetricsWriter(false).ContentType);
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", new MetricsWriter(true).ContentType);
    }
}
