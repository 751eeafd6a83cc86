using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>How a capture reads the slots in use and tells which processes run VMs.</summary>
internal sealed partial class BpfCounters
{
    /// <summary>Reads every slot in use: a VM's into <see cref="_vms"/>, what is done retired into the exited or outside rows. Returns the slots in use.</summary>
    private int ReadSlots()
    {
        // Every row first, then the one listing of the host's VMs that answers each process new at
        // this capture (and those outside VMs looked at again): a process whose events took a slot
        // made its VM before them, so a listing taken after its slot was read names it, however
        // late in the capture (a listing taken first missed a VM made while the rows were read,
        // and counted its events outside VMs).
        _read.Clear();
        for (int slot = 1; slot < _bySlot.Length; slot++)
        {
            long owner = _table.Owner(slot);
            BpfProcess? process = _bySlot[slot];
            if (owner == 0 || process is { Retiring: true })
                continue;
            int tgid = (int)(uint)owner;
            bool isNew = process is null || process.Tgid != tgid;
            if (isNew)
            {
                process = new BpfProcess(tgid, slot, _fields.Count);
                _bySlot[slot] = process;
            }
            _table.ReadRow(slot, process!.Totals);
            _read.Add(new SlotRead(slot, owner, isNew));
        }
        RowsRead?.Invoke();
        using GuestFinder.Look look = _guests.OneLook();
        RecheckOutside();
        foreach (SlotRead read in _read)
        {
            BpfProcess process = _bySlot[read.Slot]!;
            int tgid = process.Tgid;
            bool exited = (read.Owner & BpfTableLayout.OwnerExited) != 0, outside = false;
            if (read.IsNew)
            {
                bool? holdsVm = _guests.HoldsVm(tgid);
                process.IsVm = holdsVm ?? RanVcpu(process.Totals);
                // A thread's event after its main thread exited (a VM killed while it ran) takes a row
                // the exit program will never mark: a process gone, or whose main thread is a zombie
                // that waits for its last threads, is done.
                exited |= !_guests.IsRunning(tgid);
                outside = holdsVm == false && !exited;
            }
            if (exited || !process.IsVm)
                Retire(process, outside);
            if (process.Retiring)
                Add(process.IsVm ? ExitedVms : OutsideVms, process.Totals);
            else
                _vms[tgid] = process;
        }
        return _read.Count;
    }

    /// <summary>Called between reading the rows and asking which processes run VMs (a test makes a VM there).</summary>
    internal Action? RowsRead { get; set; }

    /// <summary>A slot in use as this capture read it: its owner then, and whether a process new to it took it.</summary>
    private readonly record struct SlotRead(int Slot, long Owner, bool IsNew);

    /// <summary>The slots this capture read (kept from capture to capture: reading them allocates nothing).</summary>
    private readonly List<SlotRead> _read = [];
}
