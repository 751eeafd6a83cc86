using System.Globalization;
using KvmStat.Host;

namespace KvmStat.Sources.Tracepoints;

/// <summary>The kvm event folder of tracefs, at /sys/kernel/tracing or under debugfs.</summary>
internal sealed class Tracefs
{
    private Tracefs(string root)
    {
        Root = root;
        KvmEvents = Path.Join(root, "events", "kvm");
    }

    internal string Root { get; }

    internal string KvmEvents { get; }

    /// <summary>Finds tracefs, or explains in plain words why it cannot be used and how to fix it.</summary>
    internal static Tracefs Locate(HostPaths paths)
    {
        bool denied = false;
        bool mounted = false;
        foreach (string candidate in new[] { paths.TracingPrimary, paths.TracingLegacy })
        {
            switch (Probe(candidate))
            {
                case ProbeResult.HasKvm:
                    return new Tracefs(candidate);
                case ProbeResult.Denied:
                    denied = true;
                    break;
                case ProbeResult.MountedWithoutKvm:
                    mounted = true;
                    break;
            }
        }

        if (denied)
            throw new EnvironmentException(
                $"cannot read {paths.TracingPrimary}: permission denied (tracefs is readable by root only).",
                "Run kvm_stat as root (e.g. with sudo), or give it CAP_DAC_READ_SEARCH: kvm_stat --doctor lists what each source needs.");
        if (mounted)
            throw KvmNotLoaded(paths);
        throw new EnvironmentException(
            $"tracefs is not mounted (no {paths.TracingPrimary}/events).",
            "Mount it with: mount -t tracefs nodev /sys/kernel/tracing  (or use debugfs statistics with -d).");
    }

    /// <summary>Neither place has tracefs mounted (nor a folder that cannot be read).</summary>
    internal static bool IsAbsent(HostPaths paths) =>
        Probe(paths.TracingPrimary) == ProbeResult.Absent && Probe(paths.TracingLegacy) == ProbeResult.Absent;

    internal static EnvironmentException KvmNotLoaded(HostPaths paths) =>
        File.Exists(paths.DevKvm) || Directory.Exists(Path.Join(paths.SysModule, "kvm"))
            ? new EnvironmentException(
                "tracefs has no kvm events although KVM is present: this kernel was built without KVM tracepoints.",
                "Use debugfs statistics with -d.")
            : new EnvironmentException(
                "KVM is not loaded: there is no /dev/kvm and tracefs has no kvm events.",
                "Load the module for this CPU (modprobe kvm_intel or modprobe kvm_amd) and start a VM.");

    private enum ProbeResult { Absent, Denied, MountedWithoutKvm, HasKvm }

    private static ProbeResult Probe(string candidate)
    {
        try
        {
            if (Directory.Exists(Path.Join(candidate, "events", "kvm")))
                return ProbeResult.HasKvm;
            if (Directory.Exists(Path.Join(candidate, "events")))
                return ProbeResult.MountedWithoutKvm;
            // A folder that exists but cannot be listed is a permission problem, not a missing mount.
            if (Directory.Exists(candidate))
                _ = Directory.EnumerateFileSystemEntries(candidate).GetEnumerator().MoveNext();
            return ProbeResult.Absent;
        }
        catch (UnauthorizedAccessException)
        {
            return ProbeResult.Denied;
        }
        catch (IOException)
        {
            return ProbeResult.Absent;
        }
    }

    /// <summary>The kvm tracepoint names, sorted.</summary>
    internal IReadOnlyList<string> ListKvmEvents()
    {
        var names = new List<string>();
        foreach (string dir in Directory.EnumerateDirectories(KvmEvents))
            names.Add(Path.GetFileName(dir));
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>The tracepoint's id, which perf events and BPF attach by; a plain error where it cannot be read.</summary>
    internal int ReadId(string tracepoint)
    {
        string path = Path.Join(KvmEvents, tracepoint, "id");
        string? text = SysFile.TryReadText(path, out int errno);
        if (int.TryParse(text, NumberStyles.Integer | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out int id) && id >= 0)
            return id;
        throw new EnvironmentException(
            $"cannot read the id of tracepoint kvm:{tracepoint} ({path}): {(text is null ? Interop.Errno.Describe(errno) : "not a number")}",
            "The kvm module may be loading or unloading: run again once it is loaded (lsmod | grep kvm).");
    }

    internal TraceFormat? ReadFormat(string tracepoint)
    {
        string? text = SysFile.TryReadText(Path.Join(KvmEvents, tracepoint, "format"));
        return text is null ? null : TraceFormatParser.Parse(text);
    }
}
