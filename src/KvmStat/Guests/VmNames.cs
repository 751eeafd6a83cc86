namespace KvmStat.Guests;

/// <summary>
/// The guest names of the VMs one record (or scrape) shows: each looked up once while its VM is
/// shown, and forgotten with it at the end of the first round that does not show it, so that
/// thousands of VMs coming and going leave nothing behind and a round costs no /proc read per VM.
/// A new process under a dead VM's pid is another instance, looked up anew.
/// </summary>
internal sealed class VmNames(Func<int, string?>? nameOf)
{
    private Dictionary<(int Pid, long Instance), string> _names = [], _next = [];

    /// <summary>VMs whose names are kept (for tests of what stays bounded).</summary>
    internal int Count => _names.Count;

    /// <summary>The name of a VM this round shows ("" without one).</summary>
    /// <param name="instance">Which process under the pid (<see cref="Sources.BinaryStats.VmStatsBlocks.Instance"/>).</param>
    internal string Of(int pid, long instance)
    {
        if (!_next.TryGetValue((pid, instance), out string? name))
        {
            if (!_names.TryGetValue((pid, instance), out name))
                name = nameOf?.Invoke(pid) ?? "";
            _next[(pid, instance)] = name;
        }
        return name;
    }

    /// <summary>Ends a round: only the names it used are kept.</summary>
    internal void EndRound()
    {
        (_names, _next) = (_next, _names);
        _next.Clear();
    }
}
