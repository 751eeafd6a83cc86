namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// In-process tests that load BPF programs and look at this process's BPF objects (its descriptors,
/// its programs' counts) run one at a time, and apart from every other test: another test's
/// programs would be counted as theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BpfCollection
{
    public const string Name = "bpf";

    /// <summary>This process's BPF programs, links and maps (descriptors that link to their anonymous inodes).</summary>
    internal static int OpenBpfObjects() =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(fd =>
            new FileInfo(fd).LinkTarget is string target &&
            (target.StartsWith("anon_inode:bpf-", StringComparison.Ordinal) || target.StartsWith("anon_inode:bpf_", StringComparison.Ordinal)));
}
