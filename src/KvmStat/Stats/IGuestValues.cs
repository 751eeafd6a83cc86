using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>Each running VM's fields at the last sample, as outputs see them: read-only.</summary>
internal interface IGuestValues
{
    FieldSet Fields { get; }

    /// <summary>The running VMs, sorted by pid.</summary>
    IReadOnlyList<GuestStat> Guests { get; }

    /// <summary>
    /// The events outside VMs (BPF tells them; with perf counters what the host counted beyond the
    /// VMs), those of VMs that exited, and (BPF) those of processes it had no room to tell apart,
    /// which with the guests add up to the host; with debugfs the exited VMs alone.
    /// </summary>
    IReadOnlyList<GuestStat> Others { get; }

    /// <summary>
    /// What each guest's <see cref="GuestStat.Vcpus"/> count: indexes into <see cref="Fields"/>, the
    /// fields from the first (a vCPU's values are at their fields' indices, exit reasons among
    /// them); empty without --vcpus.
    /// </summary>
    IReadOnlyList<int> VcpuFields { get; }

    /// <summary>Events of vCPU threads that could not be counted per vCPU (no room), since the start.</summary>
    long VcpusLost { get; }

    /// <summary>Exits of vCPU threads whose reason could not be counted per vCPU (their threads met more reasons than a row holds), since the start; their tracepoint's counts have them.</summary>
    long VcpuReasonsLost => 0;

    /// <summary>Running VMs not in <see cref="Guests"/> because they cannot be counted (see <see cref="Sources.IPerVmSource.VmsLeftOut"/>).</summary>
    int VmsLeftOut { get; }

    /// <summary>Why they are left out (<see cref="Sources.IPerVmSource.LeftOutCause"/>).</summary>
    string LeftOutCause => "they cannot be counted";

    /// <summary>Which they are, by pid, with their names (untrusted: escape before showing), as of the last sample.</summary>
    IReadOnlyList<(int Pid, string Name)> LeftOut => [];

    double IntervalSeconds { get; }

    int SampleCount { get; }
}
