using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>How a process gives its slot back: retired at one capture, its last events read and its slot freed at the next.</summary>
internal sealed partial class BpfCounters
{
    /// <summary>
    /// A process that is done with its slot: no event finds the slot from now on; its row is read
    /// once more at the next capture. One that exited leaves the table (also one found gone: no exit
    /// program took its entry when its last thread exited), as does one that may run a VM but cannot
    /// be looked at (its next event takes a slot, looked at anew). One found to run no VM counts on
    /// in the row outside VMs, so it takes no slot again (a kworker raising guests' interrupts took
    /// one at every capture, two at a time), while there is room for it.
    /// </summary>
    /// <param name="outside">It runs no VM (its descriptors or debugfs say so) and runs.</param>
    private void Retire(BpfProcess process, bool outside)
    {
        if (outside && _outside.Count < BpfTableLayout.OutsideRoom)
        {
            _table.MarkOutside(process.Tgid, process.Slot);
            // Already listed where its pid was an earlier process's that is not yet looked at again.
            if (_outsideSet.Add(process.Tgid))
                _outside.Add(process.Tgid);
        }
        else
            _table.Unassign(process.Tgid, process.Slot);
        process.Retiring = true;
        _retiring.Add(process);
    }

    /// <summary>The processes counted in the row outside VMs (some may have exited since), and the same as a set.</summary>
    private readonly List<int> _outside = [];
    private readonly HashSet<int> _outsideSet = [];
    private int _recheck;

    /// <summary>Processes outside VMs looked at again at each capture, in turn.</summary>
    private const int RecheckedPerCapture = 256;

    /// <summary>
    /// Looks at some of the processes outside VMs again, in turn: one the exit program took out of
    /// the table (it exited) is forgotten; one that holds a VM now (or can no longer be told)
    /// leaves the row outside VMs, so its next event takes a slot and is looked at as a new process's.
    /// </summary>
    private void RecheckOutside()
    {
        // Each at most once a capture, however few they are.
        int budget = Math.Min(RecheckedPerCapture, _outside.Count);
        for (int looked = 0; looked < budget && _outside.Count > 0; looked++)
        {
            if (_recheck >= _outside.Count)
                _recheck = 0;
            int tgid = _outside[_recheck];
            bool gone = !_table.NamesOutside(tgid);
            if (!gone && _guests.HoldsVm(tgid) != false)
            {
                _table.Forget(tgid);
                gone = true;
            }
            if (!gone)
            {
                _recheck++;
                continue;
            }
            // Swapped with the last: no allocation, and the one moved here is looked at next.
            _outside[_recheck] = _outside[^1];
            _outside.RemoveAt(_outside.Count - 1);
            _outsideSet.Remove(tgid);
        }
    }

    /// <summary>The processes retired at the last capture: their last events, then their slots go back.</summary>
    private void FinishRetiring()
    {
        foreach (BpfProcess process in _retiring)
        {
            _table.ReadRow(process.Slot, process.Totals);
            Add(process.IsVm ? _exitedFinal : _outsideFinal, process.Totals);
            _latency?.Retire(process.Slot);
            _table.Release(process.Slot);
            _bySlot[process.Slot] = null;
        }
        _retiring.Clear();
    }
}
