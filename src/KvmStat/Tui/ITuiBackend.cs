using KvmStat.Guests;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>What the screen needs from the rest of the tool: statistics for a selection and a VM, and guests.</summary>
internal interface ITuiBackend
{
    /// <summary>A new sampler (the screen disposes the old one); throws a <see cref="KvmStatException"/> it can show.</summary>
    Sampler OpenSampler(FieldSelection selection, int pid);

    /// <summary>Per-VM totals for the 'b' view.</summary>
    GuestStats OpenGuestStats(FieldSelection selection);

    /// <summary>
    /// Stops what the screen no longer shows (it changed fields or VM). What is open when the
    /// screen ends belongs to the backend, which closes it at exit.
    /// </summary>
    void Close(IDisposable opened);

    IReadOnlyList<GuestProcess> ListGuests();

    bool IsRunning(int pid);

    /// <summary>Whether the process runs a KVM VM; null when that cannot be told.</summary>
    bool? HoldsVm(int pid);

    string? NameOf(int pid);

    IReadOnlyList<int> PidsNamed(string name);
}
