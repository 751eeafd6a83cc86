using System.Globalization;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Exporter;

/// <summary>
/// Each VM's vCPUs (--vcpus, <see cref="GuestVcpus"/>): kvm_guest_vcpu_events_total{guest,pid,vcpu,event}, a series for
/// each event a vCPU raised (as kvm_guest_events_total, for the fields --guest-fields keeps; the
/// reasons of its exits in kvm_guest_vcpu_event_reasons_total{guest,pid,vcpu,event,reason}), with exit
/// latencies kvm_guest_vcpu_exit_handling_seconds{guest,pid,vcpu,event}, one histogram per kind of
/// exit (the reasons are per VM only: per vCPU they would multiply the series again), and
/// kvm_stat_vcpu_lost_events_total and kvm_stat_vcpu_lost_reasons_total. vcpu is the index the binary statistics' kvm_vcpu_* families
/// give, or "tid 1234" for a thread whose vCPU is not known. A vCPU's events are one series over its
/// threads: those of its threads now and what those gone counted (a vCPU unplugged and plugged again).
/// </summary>
internal static class VcpuMetrics
{
    /// <param name="shown">Per field of the guests: whether it gets per-guest series (null: every field).</param>
    internal static void Add(List<MetricFamily> families, IGuestValues guests, bool[]? shown)
    {
        if (guests.VcpuFields.Count == 0)
            return;
        var events = new MetricFamily("kvm_guest_vcpu_events", "counter",
            "KVM tracepoint events of each vCPU of each VM since its first event, over its threads, those gone included (a thread of no known vCPU on its own; a VM's other threads count in kvm_guest_events_total only).");
        var reasons = new MetricFamily("kvm_guest_vcpu_event_reasons", "counter",
            "KVM tracepoint events of each vCPU of each VM by exit reason (kvm_exit, kvm_userspace_exit), over its threads, those gone included.");
        var latency = new MetricFamily("kvm_guest_vcpu_exit_handling_seconds", "histogram",
            "Seconds an exit kept each vCPU out of its guest, handled in user space (kvm_userspace_exit) or in the kernel (kvm_exit), until its next entry (kvm_entry where it fires, else its next ioctl(KVM_RUN)).");
        bool timed = false;
        foreach (GuestStat guest in guests.Guests)
        {
            string pid = guest.Pid.ToString(CultureInfo.InvariantCulture);
            foreach (VcpuStat vcpu in guest.Vcpus)
            {
                // A vCPU's series goes on when its thread is replaced (GuestVcpus sums its threads);
                // a thread of no known vCPU is a series of its own, named by its id.
                string id = vcpu.Index >= 0 ? vcpu.Index.ToString(CultureInfo.InvariantCulture) : vcpu.Label;
                (string, string)[] owner = [("guest", guest.Name), ("pid", pid), ("vcpu", id)];
                for (int i = 0; i < guests.VcpuFields.Count; i++)
                {
                    // As each guest's series: events, and their reasons apart.
                    if ((shown is null || shown[guests.VcpuFields[i]]) && vcpu.Totals[i] != 0)
                        MetricsFormatter.AddCount(events, reasons, guests.Fields, guests.VcpuFields[i], owner, vcpu.Totals[i]);
                }
                if (vcpu.Latency is not LatencyHistogram[] kinds)
                    continue;
                timed = true;
                for (int kind = 0; kind < kinds.Length; kind++)
                {
                    if (kinds[kind].Count > 0)
                        MetricsFormatter.AddHistogram(latency, [("guest", guest.Name), ("pid", pid), ("vcpu", id), ("event", ExitLatencies.Kinds[kind])], kinds[kind]);
                }
            }
        }
        families.Add(events);
        families.Add(reasons);
        if (timed)
            families.Add(latency);
        var lost = new MetricFamily("kvm_stat_vcpu_lost_events", "counter",
            "KVM tracepoint events of vCPU threads kvm_stat could not count per vCPU since it started: its table of threads was full, or more vCPUs' threads had gone than it keeps. Nonzero means per-vCPU counts are missing events.");
        lost.Counter([], guests.VcpusLost);
        families.Add(lost);
        var reasonsLost = new MetricFamily("kvm_stat_vcpu_lost_reasons", "counter",
            "Exits of vCPU threads whose reason kvm_stat could not count per vCPU since it started: their threads met more reasons than its table keeps for one. Their events are in kvm_guest_vcpu_events_total; nonzero means kvm_guest_vcpu_event_reasons_total (and the vCPUs' reasons in JSON) miss exits.");
        reasonsLost.Counter([], guests.VcpuReasonsLost);
        families.Add(reasonsLost);
    }
}
