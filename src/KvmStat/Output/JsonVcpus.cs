using System.Text.Json;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// A guest's vCPU threads in JSON (--vcpus): "vcpus": {LABEL: {"tid", "fields": {NAME: {"total",
/// "delta"}}, with exit latencies "exit_latency": {"kvm_userspace_exit" | "kvm_exit": {"buckets_ns",
/// "exits", "time_ns"}}}}, LABEL as the binary statistics name their vCPUs ("vcpu0"), or "tid 1234"
/// for a thread whose vCPU is not known; a field per tracepoint that counted (exit reasons are per
/// VM only; a counter that never counted is left out, as a guest's: absent is 0). A
/// vCPU's counts are those of <see cref="GuestVcpus"/>, as the screen and the exporter show them;
/// "tid" is its newest thread, null when all its threads are gone.
/// </summary>
internal static class JsonVcpus
{
    /// <param name="shown">Per field of the guests: whether it is written (--guest-fields; null: every field).</param>
    internal static void Write(Utf8JsonWriter w, IGuestValues guests, GuestStat guest, bool[]? shown)
    {
        w.WriteStartObject("vcpus");
        // By index: an interface's enumerator would allocate at every record.
        for (int v = 0; v < guest.Vcpus.Count; v++)
        {
            VcpuStat vcpu = guest.Vcpus[v];
            w.WriteStartObject(vcpu.Label);
            if (vcpu.Tid != 0)
                w.WriteNumber("tid", vcpu.Tid);
            else
                w.WriteNull("tid");
            w.WriteStartObject("fields");
            for (int i = 0; i < guests.VcpuFields.Count; i++)
            {
                // A counter that never counted is left out, as a guest's is: absent is 0 (thousands of
                // VMs' vCPUs would otherwise write every field of each, mostly zeros, at every record).
                if ((shown is not null && !shown[guests.VcpuFields[i]]) || (vcpu.Totals[i] == 0 && vcpu.Deltas[i] == 0))
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
