using System.Globalization;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Exporter;

/// <summary>
/// Each VM's vCPU threads (--vcpus): kvm_guest_vcpu_events_total{guest,pid,vcpu,event}, a series for
/// each event a vCPU raised (as kvm_guest_events_total), with exit latencies
/// kvm_guest_vcpu_exit_handling_seconds{guest,pid,vcpu,event}, one histogram per kind of exit (the
/// reasons are per VM only: per vCPU they would multiply the series again), and
/// kvm_stat_vcpu_lost_events_total. vcpu is the index the binary statistics' kvm_vcpu_* families
/// give, or "tid 1234" for a thread whose vCPU is not known.
/// </summary>
internal static class VcpuMetrics
{
    internal static void Add(List<MetricFamily> families, IGuestValues guests, SeriesContinuity continuity)
    {
        if (guests.VcpuFields.Count == 0)
            return;
        var events = new MetricFamily("kvm_guest_vcpu_events", "counter",
            "KVM tracepoint events of each vCPU thread of each VM since its first event (a VM's other threads count in kvm_guest_events_total only).");
        var latency = new MetricFamily("kvm_guest_vcpu_exit_handling_seconds", "histogram",
            "Seconds an exit kept each vCPU out of its guest, handled in user space (kvm_userspace_exit) or in the kernel (kvm_exit), until its next entry.");
        bool timed = false;
        foreach (GuestStat guest in guests.Guests)
        {
            string pid = guest.Pid.ToString(CultureInfo.InvariantCulture);
            foreach (VcpuStat vcpu in guest.Vcpus)
            {
                string id = vcpu.Index >= 0 ? vcpu.Index.ToString(CultureInfo.InvariantCulture) : vcpu.Label;
                // A vCPU's series goes on when its thread is replaced; a thread of no known vCPU is a series of its own.
                int series = vcpu.Index >= 0 ? vcpu.Index : -2 - vcpu.Tid;
                for (int i = 0; i < guests.VcpuFields.Count; i++)
                {
                    string name = guests.Fields[guests.VcpuFields[i]].Name;
                    long value = continuity.Monotonic(guest.Pid, guest.Name, "kvm_guest_vcpu_events", name, series, vcpu.Totals[i]);
                    if (value != 0)
                        events.Counter([("guest", guest.Name), ("pid", pid), ("vcpu", id), ("event", name)], value);
                }
                for (int kind = 0; kind < (vcpu.Latency?.Length ?? 0); kind++)
                {
                    timed = true;
                    if (vcpu.Latency![kind].Count > 0)
                        MetricsFormatter.AddHistogram(latency, [("guest", guest.Name), ("pid", pid), ("vcpu", id), ("event", ExitLatencies.Kinds[kind])], vcpu.Latency[kind]);
                }
            }
        }
        families.Add(events);
        if (timed)
            families.Add(latency);
        var lost = new MetricFamily("kvm_stat_vcpu_lost_events", "counter",
            "KVM tracepoint events of vCPU threads kvm_stat could not count per vCPU since it started: its table of threads was full. Nonzero means per-vCPU counts are missing events.");
        lost.Counter([], guests.VcpusLost);
        families.Add(lost);
    }
}
