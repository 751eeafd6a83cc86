using System.Text.Json;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// A guest's vCPU threads in JSON (--vcpus): "vcpus": {LABEL: {"tid", "fields": {NAME: {"total",
/// "delta"}}, with exit latencies "exit_latency": {"kvm_userspace_exit" | "kvm_exit": {"buckets_ns",
/// "exits", "time_ns"}}}}, LABEL as the binary statistics name their vCPUs ("vcpu0"), or "tid 1234"
/// for a thread whose vCPU is not known; its fields as a guest's (a tracepoint's exit reasons as its
/// "children"; a counter that never counted is left out: absent is 0). A
/// vCPU's counts are those of <see cref="GuestVcpus"/>, as the screen and the exporter show them;
/// "tid" is its newest thread, null when all its threads are gone.
/// </summary>
internal static class JsonVcpus
{
    /// <param name="shown">Per field of the guests: whether it is written (--guest-fields; null: every field).</param>
    /// <param name="names">Each field's name as written (<see cref="JsonRenderer"/>'s).</param>
    internal static void Write(Utf8JsonWriter w, IGuestValues guests, JsonEncodedText[] names, GuestStat guest, bool[]? shown)
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
            // As a guest's fields: the reasons a vCPU's exits had as children of their tracepoint; a
            // counter that never counted is left out (thousands of VMs' vCPUs would otherwise write
            // every field of each, mostly zeros, at every record: absent is 0).
            w.WritePropertyName("fields");
            JsonRenderer.WriteFields(w, guests.Fields, names, vcpu.Totals, vcpu.Deltas, shown, counted: true);
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
