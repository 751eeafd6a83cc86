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

    /// <summary>The processes counted in the row outside VMs (some may have exited since), in the order they were moved there, and the same as a set.</summary>
    private readonly List<int> _outside = [];
    private readonly HashSet<int> _outsideSet = [];

    /// <summary>The next of the older processes outside VMs to look at again.</summary>
    private int _recheck;

    /// <summary>The listing of debugfs's VM folders at the last look at every process outside VMs.</summary>
    private long _recheckedAtListing;

    /// <summary>Processes outside VMs looked at again at each capture, in turn, where each look reads a process's descriptors.</summary>
    private const int RecheckedPerCapture = 256;

    /// <summary>
    /// Looks at the processes outside VMs again: every one where debugfs lists the host's VMs and
    /// the listing changed since (a VM was made: a search of the listing and a look up in the
    /// kernel's table each), else 256 at most (each also a look at a process's descriptors where
    /// debugfs cannot tell): first those moved there since the last capture, then others in turn, each at
    /// most once. One the exit program took out of the table (it exited) is forgotten; one that
    /// holds a VM now (or can no longer be told) leaves the row outside VMs, so its next event
    /// takes a slot and is looked at as a new process's.
    /// </summary>
    private void RecheckOutside()
    {
        int older = Math.Min(_freshFrom, _outside.Count), budget = RecheckedPerCapture;
        if (_outside.Count > RecheckedPerCapture && _guests.ListsVms && _guests.ListingStamp != _recheckedAtListing)
        {
            budget = _outside.Count;
            _recheckedAtListing = _guests.ListingStamp;
        }
        for (int i = older; i < _outside.Count && budget > 0; i++, budget--)
            Recheck(i);
        budget = Math.Min(budget, older);
        for (int looked = 0; looked < budget; looked++)
        {
            if (_recheck >= older)
                _recheck = 0;
            Recheck(_recheck++);
        }
        if (_forgotten)
            DropForgotten();
        _freshFrom = _outside.Count;
    }

    /// <summary>Those forgotten (-1) leave the list, in place: no allocation, and the order kept.</summary>
    private void DropForgotten()
    {
        _forgotten = false;
        int kept = 0;
        for (int i = 0; i < _outside.Count; i++)
        {
            if (_outside[i] >= 0)
                _outside[kept++] = _outside[i];
            else if (i < _recheck)
                _recheck--;
        }
        _outside.RemoveRange(kept, _outside.Count - kept);
    }

    /// <summary>Where the processes moved outside VMs since the last capture begin in <see cref="_outside"/>.</summary>
    private int _freshFrom;

    /// <summary>Whether a recheck at this capture forgot any process (its place in <see cref="_outside"/> is -1).</summary>
    private bool _forgotten;

    private void Recheck(int index)
    {
        int tgid = _outside[index];
        bool named = _table.NamesOutside(tgid);
        if (named && _guests.HoldsVm(tgid) == false)
            return;
        // One the exit program took out of the table has nothing left to forget there.
        if (named)
            _table.Forget(tgid);
        _outside[index] = -1;
        _outsideSet.Remove(tgid);
        _forgotten = true;
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
