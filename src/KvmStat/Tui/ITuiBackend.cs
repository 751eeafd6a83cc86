using KvmStat.Guests;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>What the screen needs from the rest of the tool: a sampler for what it shows, and guests.</summary>
internal interface ITuiBackend
{
    /// <summary>
    /// A new sampler over <paramref name="selection"/> for one VM (or all), with each VM's values
    /// when <paramref name="perVm"/> and exit latencies when <paramref name="latency"/>; throws a
    /// <see cref="KvmStatException"/> the screen can show.
    /// </summary>
    Sampler OpenSampler(FieldSelection selection, int pid, bool perVm, bool latency);

    /// <summary>
    /// Stops what the screen no longer shows (it changed VM or view). What is open when the
    /// screen ends belongs to the backend, which closes it at exit.
    /// </summary>
    void Close(IDisposable opened);

    IReadOnlyList<GuestProcess> ListGuests();

    /// <summary>Whether a pid names a VM the screen may show (<see cref="GuestFinder.CheckPid"/>).</summary>
    PidCheck CheckPid(int pid);

    string? NameOf(int pid);

    IReadOnlyList<int> PidsNamed(string name);
}
