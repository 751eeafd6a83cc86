namespace KvmStat.Sources.Bpf;

/// <summary>The kernel refused a BPF step (map, program, attach): what, why, and for a program the verifier's log.</summary>
internal sealed class BpfException(string step, int errno, string? verifierLog = null)
    : Exception($"{step}: {Interop.Errno.Describe(errno)}")
{
    internal int Errno { get; } = errno;

    /// <summary>The same refusal of maps, saying how much memory they take together (what a locked-memory limit must allow).</summary>
    internal BpfException WithMapBytes(long bytes) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{step} ({bytes / 1048576.0:0.0} MiB of maps in all)"), Errno, VerifierLog);

    /// <summary>What the verifier said when it rejected a program (null for other steps).</summary>
    internal string? VerifierLog { get; } = verifierLog;
}
