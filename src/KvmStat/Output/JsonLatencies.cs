using System.Text.Json;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>Exit latencies in JSON (--latency): per reason, or per kind of a vCPU's exits.</summary>
internal static class JsonLatencies
{
    /// <summary>
    /// Each timed reason: its exits, the nanoseconds they took together, and their log2 buckets as
    /// [upper bound in ns, exits up to it] pairs, cumulative, up to the highest bucket used (the
    /// last bound null: no upper bound). With <paramref name="shown"/>, only the reasons it holds true
    /// (--guest-fields).
    /// </summary>
    internal static void Write(Utf8JsonWriter w, ExitLatencies latencies, Dictionary<int, LatencyHistogram>? histograms, bool[]? shown = null)
    {
        w.WriteStartObject();
        // In the fields' name order, kept once: sorting here would allocate at every record.
        if (histograms is not null)
        {
            foreach (int field in latencies.Fields.ByName)
            {
                if (shown?[field] != false && histograms.TryGetValue(field, out LatencyHistogram? histogram))
                    WriteOne(w, latencies.Fields[field].Name, histogram);
            }
        }
        w.WriteEndObject();
    }

    /// <summary>One histogram of exit latencies, under <paramref name="name"/>: nothing where it has no exits.</summary>
    internal static void WriteOne(Utf8JsonWriter w, string name, LatencyHistogram histogram)
    {
        ulong[] buckets = histogram.Buckets;
        int highest = Array.FindLastIndex(buckets, b => b != 0);
        if (highest < 0)
            return;
        w.WriteStartObject(name);
        ulong cumulative = 0;
        w.WriteStartArray("buckets_ns");
        for (int i = 0; i <= highest; i++)
        {
            cumulative += buckets[i];
            w.WriteStartArray();
            double high = ExitLatencies.BucketHigh(i, buckets.Length);
            if (double.IsInfinity(high))
                w.WriteNullValue();
            else
                w.WriteNumberValue((ulong)high);
            w.WriteNumberValue(cumulative);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteNumber("exits", cumulative);
        w.WriteNumber("time_ns", histogram.Nanoseconds);
        w.WriteEndObject();
    }
}
