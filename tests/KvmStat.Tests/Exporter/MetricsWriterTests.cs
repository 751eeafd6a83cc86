using CsCheck;
using KvmStat.Exporter;
using KvmStat.Sources.BinaryStats;
using KvmStat.Tests.Infrastructure;

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
        // Controls in another user's guest name are made visible: a scrape read in a terminal stays a text.
        var hostile = new MetricFamily("kvm_guest_info", "gauge", "guests");
        hostile.Gauge([("guest", "a\u001b]0;owned\u0007b\u202e\u009b")], 1);
        Assert.EndsWith("kvm_guest_info{guest=\"a\\\\e]0;owned\\\\x07b\\\\u202e\\\\x9b\"} 1\n", new MetricsWriter(openMetrics: false).Write([hostile]));
        Assert.Equal("_9lives", MetricsWriter.SanitizeName("9lives"));
        Assert.Equal("+Inf", BaseUnits.Float(double.PositiveInfinity));
        Assert.Equal("0.5", BaseUnits.Float(0.5));
        Assert.Equal("-Inf", BaseUnits.Float(double.NegativeInfinity));
        Assert.Equal("NaN", BaseUnits.Float(double.NaN));
    }

    /// <summary>A family whose name another took (itself, or once made a name: a-b and a_b; x and a counter x's x_total) is left out and named, never an exception.</summary>
    [Fact]
    public void EmptyFamiliesAreLeftOutAndCollidingOnesAreDropped()
    {
        var empty = new MetricFamily("nothing", "counter", "none");
        var once = new MetricFamily("once", "counter", "one");
        once.Counter([], 1);
        Assert.Equal("# HELP once_total one\n# TYPE once_total counter\nonce_total 1\n", new MetricsWriter(false).Write([empty, once]));
        Assert.Equal("# HELP once one\n# TYPE once counter\nonce_total 1\n# EOF\n", new MetricsWriter(true).Write([empty, once]));
        var dashed = new MetricFamily("a-b", "gauge", "dashed");
        dashed.Gauge([], 1);
        var underscored = new MetricFamily("a_b", "gauge", "underscored");
        underscored.Gauge([], 2);
        var total = new MetricFamily("once_total", "gauge", "a gauge named like the counter's samples");
        total.Gauge([], 3);
        var writer = new MetricsWriter(false);
        Assert.Equal("# HELP once_total one\n# TYPE once_total counter\nonce_total 1\n# HELP a_b dashed\n# TYPE a_b gauge\na_b 1\n",
            writer.Write([once, once, dashed, underscored, total]));
        Assert.Equal(3, writer.Dropped.Count);
    }

    /// <summary>Samples that do not fit their family (suffix, labels, a label set twice) are left out; long label values are cut.</summary>
    [Fact]
    public void SamplesThatDoNotFitTheirFamilyAreDropped()
    {
        var family = new MetricFamily("h", "histogram", "h");
        family.Add("_bucket", [("le", "+Inf")], "1");
        family.Add("_bucket", [("le", "+Inf")], "2");
        family.Add("", [], "3");
        family.Add("_bucket", [], "4");
        family.Add("_count", [("__name__", "x")], "5");
        var gauge = new MetricFamily("g", "gauge", "g");
        gauge.Gauge([("guest", new string('x', 100_000))], 1);
        var writer = new MetricsWriter(false);
        string text = writer.Write([family, gauge]);
        Assert.Equal($"# HELP h h\n# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} 1\n# HELP g g\n# TYPE g gauge\ng{{guest=\"{new string('x', MetricsWriter.MaxLabelValue)}\"}} 1\n", text);
        Assert.Equal(4, writer.Dropped.Count);
    }

    /// <summary>
    /// A bucket's bound given apart from its series' labels is written as their last label, a series
    /// of its own by it; given twice (a label too), or not a number, the bucket is left out.
    /// </summary>
    [Fact]
    public void ABucketsBoundIsItsLastLabel()
    {
        var family = new MetricFamily("h", "histogram", "h");
        (string, string)[] series = [("guest", "a\"b")];
        family.Bucket(series, "0.5", 1);
        family.Bucket(series, "+Inf", 2);
        family.Bucket(series, "+Inf", 3);
        family.Bucket([("le", "1")], "2", 4);
        family.Bucket([], "x", 5);
        family.Bucket([], "1", 6);
        // The same series given as a label and as a bound: written once.
        family.Add("_bucket", [("le", "1")], "7");
        var writer = new MetricsWriter(false);
        Assert.Equal("# HELP h h\n# TYPE h histogram\nh_bucket{guest=\"a\\\"b\",le=\"0.5\"} 1\nh_bucket{guest=\"a\\\"b\",le=\"+Inf\"} 2\nh_bucket{le=\"1\"} 6\n",
            writer.Write([family]));
        Assert.Equal(4, writer.Dropped.Count);
    }

    /// <summary>
    /// A label set is told from the others as written (values cut, in order), whatever its hash:
    /// values that differ only past the cut are one series, a surrogate pair stays whole, and
    /// thousands of series lose none. The UTF-8 the server sends is the text's.
    /// </summary>
    [Fact]
    public void LabelSetsAreToldApartAsWritten()
    {
        var family = new MetricFamily("g", "gauge", "g");
        string cut = new('x', MetricsWriter.MaxLabelValue);
        family.Gauge([("guest", cut + "a")], 1);
        family.Gauge([("guest", cut + "b")], 2);
        family.Gauge([("guest", "smile \U0001F600")], 3);
        family.Gauge([("guest", "a"), ("pid", "1")], 4);
        family.Gauge([("pid", "1"), ("guest", "a")], 5);
        for (int i = 0; i < 5000; i++)
            family.Gauge([("guest", $"vm{i}"), ("pid", $"{i}")], i);
        var writer = new MetricsWriter(false);
        string text = writer.Write([family]);
        Assert.Equal(["a sample of g (its labels are another sample's)"], writer.Dropped);
        Assert.Contains($"g{{guest=\"{cut}\"}} 1\n", text);
        Assert.DoesNotContain($"g{{guest=\"{cut}\"}} 2\n", text);
        Assert.Contains("g{guest=\"smile \U0001F600\"} 3\n", text);
        Assert.Contains("g{guest=\"a\",pid=\"1\"} 4\n", text);
        Assert.Contains("g{pid=\"1\",guest=\"a\"} 5\n", text);
        Assert.Equal(5000 + 4, text.Split('\n').Count(l => l.StartsWith("g{", StringComparison.Ordinal)));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(text), writer.WriteUtf8([family]).ToArray());
    }

    /// <summary>
    /// A histogram series given whole is written as its buckets given one by one would be: cumulative
    /// counts under each bound, buckets past the last bound only in +Inf and _count, then _sum.
    /// </summary>
    [Fact]
    public void AHistogramGivenWholeIsWrittenAsItsBuckets()
    {
        (string, string)[] labels = [("guest", "a\"b"), ("reason", "IO")];
        var whole = new MetricFamily("h", "histogram", "h");
        whole.Histogram(labels, ["0.5", "1", "2"], [3, 0, 4, 1, 7, 2], firstBound: 1, "1.25");
        var byBucket = new MetricFamily("h", "histogram", "h");
        byBucket.Bucket(labels, "0.5", 3);
        byBucket.Bucket(labels, "1", 7);
        byBucket.Bucket(labels, "2", 8);
        byBucket.Bucket(labels, "+Inf", 17);
        byBucket.Add("_sum", labels, "1.25");
        byBucket.Add("_count", labels, 17);
        var writer = new MetricsWriter(false);
        string expected = writer.Write([byBucket]);
        Assert.Equal(expected, writer.Write([whole]));
        Assert.Contains("h_bucket{guest=\"a\\\"b\",reason=\"IO\",le=\"1\"} 7\n", expected);
        Assert.Empty(writer.Dropped);
    }

    /// <summary>A histogram series the format cannot hold is left out and named: labels of another series, an le label, a bound no number, a family of another type.</summary>
    [Fact]
    public void AHistogramSeriesThatCannotBeWrittenIsLeftOut()
    {
        var family = new MetricFamily("h", "histogram", "h");
        family.Histogram([("guest", "a")], ["1"], [1, 1], 0, "2");
        family.Histogram([("guest", "a")], ["1"], [5, 5], 0, "2");
        family.Histogram([("le", "1")], ["1"], [1], 0, "1");
        family.Histogram([("guest", "b")], ["x"], [1], 0, "1");
        family.Histogram([("guest", "c")], ["+Inf"], [1], 0, "1");
        var gauge = new MetricFamily("g", "gauge", "g");
        gauge.Histogram([], ["1"], [1], 0, "1");
        // Histograms given both ways in one family: those given whole are left out (a bucket and a
        // count of one label set could otherwise be written twice).
        var mixed = new MetricFamily("m", "histogram", "m");
        mixed.Bucket([("guest", "d")], "1", 1);
        mixed.Add("_count", [("guest", "d")], 1);
        mixed.Histogram([("guest", "d")], ["1"], [1], 0, "1");
        var writer = new MetricsWriter(false);
        string text = writer.Write([family, gauge, mixed]);
        Assert.Equal("# HELP h h\n# TYPE h histogram\n" +
            "h_bucket{guest=\"a\",le=\"1\"} 1\nh_bucket{guest=\"a\",le=\"+Inf\"} 2\nh_sum{guest=\"a\"} 2\nh_count{guest=\"a\"} 2\n" +
            "# HELP g g\n# TYPE g gauge\n" +
            "# HELP m m\n# TYPE m histogram\nm_bucket{guest=\"d\",le=\"1\"} 1\nm_count{guest=\"d\"} 1\n", text);
        Assert.Equal([
            "a histogram of h (its labels are another series')",
            "a histogram of h (the label name \"le\" is not allowed or repeated)",
            "a histogram of h (a bucket's le is no number)",
            "a histogram of h (a bucket's le is no number)",
            "a histogram of g (a gauge has no histograms)",
            "the histograms of m given whole (the family has samples too)"], writer.Dropped);
    }

    /// <summary>
    /// An exposition handed over (the server's body) is the sender's: the next write goes to a
    /// buffer of its own, sized as the last, and leaves the one handed over as it was.
    /// </summary>
    [Fact]
    public void AnExpositionHandedOverIsNotWrittenOverByTheNext()
    {
        var first = new MetricFamily("a", "gauge", "a");
        for (int i = 0; i < 5000; i++)
            first.Gauge([("guest", $"vm{i}")], i);
        var second = new MetricFamily("b", "gauge", "b");
        second.Gauge([], 2);
        var writer = new MetricsWriter(false);
        string expected = writer.Write([first]);
        ArraySegment<byte> handed = writer.WriteDetached([first]);
        ArraySegment<byte> next = writer.WriteDetached([second]);
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(handed));
        Assert.Equal("# HELP b b\n# TYPE b gauge\nb 2\n", System.Text.Encoding.UTF8.GetString(next));
        Assert.NotSame(handed.Array, next.Array);
        Assert.Equal(expected, writer.Write([first]));
    }

    /// <summary>
    /// The exposition's buffer is made once, of about its length (a dense host's first scrape grew
    /// one of tens of megabytes by doubling, copying it and leaving the old one as garbage): the
    /// estimate is within a few percent, and the buffer is neither outgrown nor twice the text.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheBufferIsMadeOnceForTheWholeText(bool openMetrics)
    {
        var histograms = new MetricFamily("kvm_guest_exit_handling_seconds", "histogram", "h");
        var latency = new KvmStat.Sources.LatencyHistogram { Nanoseconds = 123_456_789 };
        for (int b = 10; b < 24; b++)
            latency.Buckets[b] = (ulong)(b * 977);
        var counters = new MetricFamily("kvm_guest_events", "counter", "c");
        var gauges = new MetricFamily("kvm_guest_info", "gauge", "g");
        for (int i = 0; i < 2000; i++)
        {
            (string, string)[] guest = [("guest", $"guest \"{i}\""), ("pid", $"{10_000 + i}")];
            MetricsFormatter.AddHistogram(histograms, [.. guest, ("event", "kvm_userspace_exit"), ("reason", "IO")], latency);
            counters.Counter([.. guest, ("event", "kvm_pio")], 1_000_003L * i);
            gauges.Add("", guest, "1");
        }
        MetricFamily[] families = [histograms, counters, gauges];
        ArraySegment<byte> text = new MetricsWriter(openMetrics).WriteDetached(families);
        long estimate = MetricsWriter.SizeOf(families);
        Assert.InRange(text.Count, estimate * 0.95, estimate * 1.05);
        Assert.InRange(text.Array!.Length, text.Count, text.Count * 1.35 + 8192);
    }

    /// <summary>A histogram's _sum is its whole nanoseconds in seconds, without the noise of multiplying by 1e-9.</summary>
    [Fact]
    public void HistogramSumsAreWholeNanoseconds()
    {
        var family = new MetricFamily("kvm_exit_handling_seconds", "histogram", "h");
        var histogram = new KvmStat.Sources.LatencyHistogram { Nanoseconds = 100_096_599 };
        histogram.Buckets[14] = 3;
        MetricsFormatter.AddHistogram(family, [("reason", "IO")], histogram);
        Assert.Contains("kvm_exit_handling_seconds_sum{reason=\"IO\"} 0.100096599\n", new MetricsWriter(false).Write([family]));
    }

    /// <summary>
    /// An exit histogram's bounds start at 256 ns, so that exits the kernel handles in 300 ns to 1 µs
    /// fall in buckets of their own; exits of 2.1 s and longer are +Inf alone; 24 bounds in all.
    /// </summary>
    [Fact]
    public void ExitHistogramsTellSubMicrosecondExitsApart()
    {
        var family = new MetricFamily("kvm_exit_handling_seconds", "histogram", "h");
        var histogram = new KvmStat.Sources.LatencyHistogram { Nanoseconds = 1 };
        histogram.Buckets[6] = 1;   // [64, 128) ns
        histogram.Buckets[8] = 2;   // [256, 512) ns
        histogram.Buckets[9] = 4;   // [512, 1024) ns
        histogram.Buckets[30] = 8;  // [1.07, 2.15) s
        histogram.Buckets[31] = 16; // [2.15, 4.29) s
        MetricsFormatter.AddHistogram(family, [], histogram);
        string[] buckets = [.. new MetricsWriter(false).Write([family]).Split('\n').Where(l => l.StartsWith("kvm_exit_handling_seconds_bucket", StringComparison.Ordinal))];
        Assert.Equal(25, buckets.Length);
        Assert.Equal("kvm_exit_handling_seconds_bucket{le=\"2.56e-07\"} 1", buckets[0]);
        Assert.Equal("kvm_exit_handling_seconds_bucket{le=\"5.12e-07\"} 3", buckets[1]);
        Assert.Equal("kvm_exit_handling_seconds_bucket{le=\"1.024e-06\"} 7", buckets[2]);
        Assert.Equal("kvm_exit_handling_seconds_bucket{le=\"2.147483648\"} 15", buckets[23]);
        Assert.Equal("kvm_exit_handling_seconds_bucket{le=\"+Inf\"} 31", buckets[24]);
    }

    /// <summary>Families of any names, types, suffixes and labels: promtool parses every exposition.</summary>
    [Fact]
    public void AnyFamiliesMakeAValidExposition()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/promtool"), "promtool is not installed (./test.sh installs prometheus)");
        Gen<string> name = Gen.OneOf(Gen.Const("a-b"), Gen.Const("a_b"), Gen.Const("x"), Gen.Const("x_total"), Gen.Const("x_bucket"), Gen.Const("9"),
            Gen.Const(""), Gen.String[Gen.Char["ab_-:.\u00e9 9"], 1, 8]);
        Gen<string> type = Gen.OneOf(Gen.Const("counter"), Gen.Const("gauge"), Gen.Const("histogram"), Gen.Const("summary"), Gen.Const("bogus"));
        Gen<string> suffix = Gen.OneOf(Gen.Const(""), Gen.Const("_total"), Gen.Const("_bucket"), Gen.Const("_count"), Gen.Const("_sum"), Gen.Const("_x"));
        Gen<(string, string)> label = Gen.Select(Gen.OneOf(Gen.Const("le"), Gen.Const("guest"), Gen.Const("__x"), Gen.Const("a-b"), Gen.Const("")),
            Gen.String[Gen.Char["a\\\"\n\u202e\ud800"], 0, 6]);
        Gen<MetricSample> sample = Gen.Select(suffix, label.Array[0, 3], Gen.OneOf(Gen.Const("1"), Gen.Const("+Inf"), Gen.Const("0.5")),
            (s, l, v) => new MetricSample(s, l, v));
        Gen<(string, string)[]> histogram = label.Array[0, 2];
        Gen<MetricFamily> family = Gen.Select(name, type, sample.Array[0, 4], histogram.Array[0, 2], (n, t, samples, histograms) =>
        {
            var f = new MetricFamily(n, t, "help \\ \n");
            f.Samples.AddRange(samples);
            foreach ((string, string)[] labels in histograms)
                f.Histogram(labels, ["0.5", "1"], [1, 2, 3], 0, "2.5");
            return f;
        });
        family.Array[0, 6].Sample(families =>
        {
            string text = new MetricsWriter(false).Write(families);
            (int code, string output, string error) = ChildProcess.Run("/usr/bin/promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), input: text);
            // 3: style advice only (camelCase names); 1 would be an exposition promtool cannot read.
            Assert.True(code is 0 or 3 && !error.Contains("parsing error") && !output.Contains("parsing error"), $"promtool {code}: {output}{error}\n{text}");
        }, iter: 100, threads: 1);
    }
}
