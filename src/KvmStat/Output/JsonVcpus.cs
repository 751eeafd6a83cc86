using System.Text.Json;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// A guest's vCPU threads in JSON (--vcpus): "vcpus": {LABEL: {"tid", "fields": {NAME: {"total",
/// "delta"}}, with exit latencies "exit_latency": {"kvm_userspace_exit" | "kvm_exit": {"buckets_ns",
/// "exits", "time_ns"}}}}, LABEL as the binary statistics name their vCPUs ("vcpu0"), or "tid 1234"
/// for a thread whose vCPU is not known; a field per tracepoint (exit reasons are per VM only).
/// </summary>
internal static class JsonVcpus
{
    internal static void Write(Utf8JsonWriter w, IGuestValues guests, GuestStat guest)
    {
        w.WriteStartObject("vcpus");
        foreach (VcpuStat vcpu in guest.Vcpus)
        {
            w.WriteStartObject(vcpu.Label);
            w.WriteNumber("tid", vcpu.Tid);
            w.WriteStartObject("fields");
            for (int i = 0; i < guests.VcpuFields.Count; i++)
            {
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
                    JsonRenderer.WriteLatency(w, ExitLatencies.Kinds[kind], kinds[kind]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
