namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// What <see cref="QmpReader"/> keeps of one QMP socket between refreshes: the VM's statistics
/// blocks and schemas, the vCPUs' QOM paths and indexes, and how its last tries went.
/// </summary>
internal sealed class QmpSocketState(string path, int pid)
{
    internal string Path { get; } = path;

    /// <summary>The QEMU process --qmp auto found listening on the path (0: a path the user named).</summary>
    internal int ExpectedPeer { get; init; }

    /// <summary>Where to connect: through the QEMU's own root (--qmp auto), or null for the path itself.</summary>
    internal string? Via { get; init; }

    /// <summary>The VM's blocks as last read, under the pid of the QEMU that answered (0 before any answer).</summary>
    internal VmStatsBlocks Blocks { get; set; } = new(pid);

    /// <summary>When the QEMU that answered started (<see cref="Guests.GuestFinder.StartOf"/>; 0 when unknown): a new one under its pid starts over.</summary>
    internal long PeerStart { get; set; }

    internal IReadOnlyList<KvmStatDescriptor>? VmSchema { get; set; }
    internal IReadOnlyList<KvmStatDescriptor>? VcpuSchema { get; set; }
    internal QmpBlock? VmBlock { get; set; }
    internal Dictionary<string, QmpBlock> VcpuBlocks { get; } = new(StringComparer.Ordinal);
    internal Dictionary<string, int> CpuIndexByPath { get; } = new(StringComparer.Ordinal);

    internal bool WarnedAboutInterruptions { get; set; }

    /// <summary>The last failure's message (null after an answer): a failure is reported when it differs.</summary>
    internal string? LastProblem { get; set; }

    /// <summary>Whether <see cref="Blocks"/> hold statistics to show.</summary>
    internal bool HasData { get; set; }

    /// <summary>Failures in a row, which make the back-off longer.</summary>
    internal int Failures { get; set; }

    /// <summary>When the socket may be tried again (a timestamp of the reader's clock; 0: at once).</summary>
    internal long RetryAt { get; set; }

    /// <summary>How long its last refresh took (timestamp ticks; the longest after a failure), to order the next.</summary>
    internal long LastTook { get; set; }

    /// <summary>An answer read: the VM is up, and a next failure backs off from the start.</summary>
    internal void Succeeded()
    {
        LastProblem = null;
        Failures = 0;
        RetryAt = 0;
        HasData = true;
    }

    /// <summary>Forgets what was read from the peer (another QEMU, or statistics that could not be read): the VM is down until its next answer.</summary>
    internal void StartOver(int pid)
    {
        Blocks = new VmStatsBlocks(pid);
        VmSchema = null;
        VcpuSchema = null;
        VmBlock = null;
        VcpuBlocks.Clear();
        CpuIndexByPath.Clear();
        HasData = false;
    }
}
