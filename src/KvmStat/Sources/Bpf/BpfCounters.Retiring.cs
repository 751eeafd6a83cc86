using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>How a process gives its slot back: retired at one capture, its last events read and its slot freed at the next.</summary>
internal sealed partial class BpfCounters
{
    /// <summary>
    /// A process that is done with its slot: no event finds the slot from now on; its row is read
    /// once more at the next capture. One that exited leaves the table (also one found gone: no exit
    /// program took its entry when its last thread exited); one that runs no VM counts on in the row
    /// outside VMs, so it takes no slot again at its next event (a kworker raising guests'
    /// interrupts would take one at every capture, two at a time).
    /// </summary>
    private void Retire(BpfProcess process, bool exited)
    {
        if (exited)
            _table.Unassign(process.Tgid, process.Slot);
        else
            MarkOutside(process.Tgid, process.Slot);
        process.Retiring = true;
        _retiring.Add(process);
    }

    /// <summary>The processes counted in the row outside VMs, oldest first (some may have exited since).</summary>
    private readonly Queue<int> _outside = new();

    private void MarkOutside(int tgid, int slot)
    {
        _table.MarkOutside(tgid, slot);
        _outside.Enqueue(tgid);
        // Past the room kept for them the oldest take a slot again, for a capture, at their next event.
        while (_outside.Count > BpfTableLayout.OutsideRoom)
            _table.Forget(_outside.Dequeue());
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
