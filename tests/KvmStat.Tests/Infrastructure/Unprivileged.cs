using KvmStat.Tests.Architecture;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// The published binary as the systemd units run it: user nobody with only the capabilities the
/// units grant (read from the exporter unit), given with setpriv as systemd gives them.
/// </summary>
internal static class Unprivileged
{
    /// <summary>"bpf", "perfmon"... of the exporter unit's AmbientCapabilities=, as setpriv names them.</summary>
    internal static string[] UnitCapabilities()
    {
        string unit = File.ReadAllText(Path.Join(Repository.Root, "contrib", "kvm_stat-exporter.service"));
        string line = unit.Split('\n').Single(l => l.StartsWith("AmbientCapabilities=", StringComparison.Ordinal));
        return [.. line["AmbientCapabilities=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => c["CAP_".Length..].ToLowerInvariant())];
    }

    /// <summary>setpriv's arguments that run the tool as nobody with these capabilities and no others.</summary>
    internal static string[] Arguments(IEnumerable<string> capabilities, params string[] toolArguments)
    {
        string caps = string.Concat(capabilities.Select(c => ",+" + c));
        return ["--reuid=65534", "--regid=65534", "--clear-groups", $"--inh-caps=-all{caps}", $"--ambient-caps=-all{caps}",
            $"--bounding-set=-all{caps}", PublishedBinary.Path, .. toolArguments];
    }

    internal static ChildProcess Start(IEnumerable<string> capabilities, params string[] toolArguments) =>
        ChildProcess.Start("setpriv", Arguments(capabilities, toolArguments));
}
