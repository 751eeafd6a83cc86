using System.Globalization;
using System.Text.Json;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// A guest's vCPU threads in JSON (--vcpus): "vcpus": {LABEL: {"tid", "fields": {NAME: {"total",
/// "delta"}}, with exit latencies "exit_latency": {"kvm_userspace_exit" | "kvm_exit": {"buckets_ns",
/// "exits", "time_ns"}}}}, LABEL as the binary statistics name their vCPUs ("vcpu0"), or "tid 1234"
/// for a thread whose vCPU is not known; a field per tracepoint (exit reasons are per VM only). A
/// second thread of one vCPU in the same sample (its old thread exited in the interval) is
/// "vcpu0 (tid 1234)": a key is never written twice.
/// </summary>
internal static class JsonVcpus
{
    /// <param name="shown">Per field of the guests: whether it is written (--guest-fields; null: every field).</param>
    internal static void Write(Utf8JsonWriter w, IGuestValues guests, GuestStat guest, bool[]? shown)
    {
        w.WriteStartObject("vcpus");
        // Threads come by vCPU: those of one vCPU are next to each other.
        string? previous = null;
        foreach (VcpuStat vcpu in guest.Vcpus)
        {
            w.WriteStartObject(vcpu.Label == previous ? $"{vcpu.Label} (tid {vcpu.Tid.ToString(CultureInfo.InvariantCulture)})" : vcpu.Label);
            previous = vcpu.Label;
            w.WriteNumber("tid", vcpu.Tid);
            w.WriteStartObject("fields");
            for (int i = 0; i < guests.VcpuFields.Count; i++)
            {
                if (shown is not null && !shown[guests.VcpuFields[i]])
                    continue;
                w.WriteStartObject(guests.Fields[guests.VcpuFields[i]].Name);
                w.WriteNumber("total", vcpu.Totals[i]);
                w.WriteNumber("delta", vcpu.Deltas[i]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            if (vcpu.Latency is LatencyHistogram[] kinds)
            {
                w.WriteStartObject("exit_latency");
                for (int kind = 0; kind < kinds.Length; kind++)
                    JsonLatencies.WriteOne(w, ExitLatencies.Kinds[kind], kinds[kind]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
