using static KvmStat.Sources.Bpf.BpfRegister;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// How long each exit keeps a vCPU out of its guest, in the kernel, per process and exit reason,
/// as log2 histograms of nanoseconds (bucket N holds [2^N, 2^(N+1)) ns; 0 also holds 0 and 1).
/// An exit program (kvm_exit, kvm_userspace_exit) stamps the thread with the time, its reason's
/// field, its process's slot and the kind of exit (<see cref="Pending"/>); the entry program, on
/// the thread's next entry (the kvm_entry tracepoint, or where that never fires the
/// ioctl(KVM_RUN) system call), adds one to the bucket of the time since and the time to its
/// nanoseconds, keyed by slot, field and bucket (<see cref="Histograms"/>); an event no entry
/// could be made for is counted in <see cref="Lost"/>. An exit the kernel hands to user space
/// (kvm_exit, then kvm_userspace_exit) is two: its part in the kernel ends at kvm_userspace_exit,
/// under the kvm_exit reason, and its part in user space at the next entry. A thread's stamp goes
/// when the thread exits, so a thread that later gets its id never ends an exit it did not make.
/// Per vCPU thread (--vcpus) the stamp names the thread's row too, and an exit is added to that
/// row's histogram of its kind as well (<see cref="ThreadProgram.EmitLatency"/>).
/// </summary>
internal static class LatencyProgram
{
    internal const string Pending = "pending", Histograms = "latency", Lost = "lost";

    /// <summary>A bucket's value: its exits and the nanoseconds they took, two 64-bit counts.</summary>
    internal const int BucketValueSize = 16;

    /// <summary>A stamp: { u64 time; u32 field; u32 slot; u32 row; u32 kind; }.</summary>
    internal const int StampSize = 24;

    // Stack slots. The stamp's (-36 to -64) are free when it is written; it reads the counting
    // part's slot (CounterProgram's -16) and row (ThreadProgram's -76). The end of an exit reuses
    // slots the counting part no longer needs (-4, -24 to -52), never -16 or -76; -80 keeps R7.
    private const short TidKey = -36, Stamp = -64, StampField = -56, StampSlot = -52, StampRow = -48, StampKind = -44;
    private const short EntryTid = -4, Argument = -16, HistogramKey = -24, FirstValue = -40, LostKey = -44, BucketSave = -48, EntryRow = -52;
    private const short SavedReason = -80;

    /// <summary>The kind of an exit handled in the kernel (kvm_exit); 0 is one handled in user space.</summary>
    internal const int KernelKind = 1;

    /// <summary>
    /// The stamp an exit program leaves on its thread, appended after it counted the event's
    /// reason: R7 holds the reason's field, the stack at <paramref name="slotKey"/> the process's
    /// slot, and per thread at <see cref="ThreadProgram.ThreadKey"/> the thread's row.
    /// </summary>
    /// <param name="kind">The kind of exit (0: handled in user space, 1: in the kernel).</param>
    internal static void EmitStamp(BpfAssembler a, short slotKey, BpfTableLayout layout, int kind)
    {
        a.Call(Interop.Abi.BPF_FUNC_ktime_get_ns).Store(BpfSize.DoubleWord, R10, Stamp, R0);
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Store(BpfSize.Word, R10, TidKey, R0);
        a.Store(BpfSize.Word, R10, StampField, R7);
        a.Load(BpfSize.Word, R1, R10, slotKey).Store(BpfSize.Word, R10, StampSlot, R1);
        if (layout.PerThread)
            a.Load(BpfSize.Word, R1, R10, ThreadProgram.ThreadKey).Store(BpfSize.Word, R10, StampRow, R1);
        else
            a.Store(BpfSize.Word, R10, StampRow, 0);
        a.Store(BpfSize.Word, R10, StampKind, kind);
        // A thread keeps its entry from one exit to the next (it goes when the thread exits): written
        // in place, only this thread's programs touch it, and an update costs far more than a lookup.
        a.LoadMap(R1, Pending).Mov(R2, R10).Add(R2, TidKey).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, "snew");
        for (short word = 0; word < StampSize; word += 8)
            a.Load(BpfSize.DoubleWord, R1, R10, (short)(Stamp + word)).Store(BpfSize.DoubleWord, R0, word, R1);
        a.Jump("sdone");
        a.Label("snew").LoadMap(R1, Pending).Mov(R2, R10).Add(R2, TidKey).Mov(R3, R10).Add(R3, Stamp)
            .Mov(R4, (int)Interop.Abi.BPF_ANY).Call(Interop.Abi.BPF_FUNC_map_update_elem);
        a.Label("sdone");
    }

    /// <summary>
    /// kvm_userspace_exit's part before its stamp, where kvm_exit stamps too: the thread's exit in
    /// the kernel ends here, as it leaves for user space. R7 (the reason's field) is kept.
    /// </summary>
    internal static void EmitEndOfKernelPart(BpfAssembler a, BpfTableLayout layout)
    {
        a.Store(BpfSize.Word, R10, SavedReason, R7);
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Store(BpfSize.Word, R10, EntryTid, R0);
        a.LoadMap(R1, Pending).Mov(R2, R10).Add(R2, EntryTid).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, "kdone").Mov(R9, R0);
        a.Load(BpfSize.Word, R1, R9, 20).JumpIf(BpfCondition.NotEqual, R1, KernelKind, "kdone");
        a.Load(BpfSize.DoubleWord, R7, R9, 0).JumpIf(BpfCondition.Equal, R7, 0, "kdone");
        EmitEnd(a, layout, "k", "kdone");
        a.Label("kdone").Load(BpfSize.Word, R7, R10, SavedReason);
    }

    /// <summary>The exit program's part: a thread that exits takes its stamp with it.</summary>
    internal static void EmitForget(BpfAssembler a)
    {
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Store(BpfSize.Word, R10, TidKey, R0);
        a.LoadMap(R1, Pending).Mov(R2, R10).Add(R2, TidKey).Call(Interop.Abi.BPF_FUNC_map_delete_elem);
    }

    /// <summary>
    /// The entry program. With <paramref name="syscall"/> it runs on raw_syscalls:sys_enter and
    /// looks further only at ioctl(KVM_RUN) of a thread that has a stamp; else on kvm_entry.
    /// </summary>
    internal static BpfCode EmitEntry(bool syscall, BpfTableLayout layout)
    {
        var a = new BpfAssembler();
        if (syscall)
        {
            // sys_enter(struct pt_regs *regs, long id): most system calls leave here.
            a.Load(BpfSize.DoubleWord, R2, R1, 8).JumpIf(BpfCondition.NotEqual, R2, (int)Interop.Abi.SYS_ioctl, "out");
            a.Load(BpfSize.DoubleWord, R6, R1, 0);
        }
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Store(BpfSize.Word, R10, EntryTid, R0);
        a.LoadMap(R1, Pending).Mov(R2, R10).Add(R2, EntryTid).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, "out").Mov(R9, R0);
        a.Load(BpfSize.DoubleWord, R7, R9, 0).JumpIf(BpfCondition.Equal, R7, 0, "out");
        if (syscall)
        {
            // The ioctl's request, its second argument, from the registers the system call saved.
            a.Mov(R1, R10).Add(R1, Argument).Mov(R2, 8).Mov(R3, R6).Add(R3, Interop.Abi.SyscallSecondArgumentOffset)
                .Call(Interop.Abi.BPF_FUNC_probe_read_kernel).JumpIf(BpfCondition.NotEqual, R0, 0, "out");
            a.Load(BpfSize.Word, R1, R10, Argument).JumpIf(BpfCondition.NotEqual, R1, (int)Interop.Abi.KVM_RUN, "out");
        }
        EmitEnd(a, layout, "", "out");
        a.Label("out").Mov(R0, 0).Exit();
        return a.Build();
    }

    /// <summary>
    /// Ends the exit stamped at R9, whose time R7 holds (not 0): the stamp's time is cleared, and
    /// the exit added to its bucket; then on to <paramref name="done"/>.
    /// </summary>
    /// <param name="labels">Put before its labels, so that one program can hold it twice.</param>
    private static void EmitEnd(BpfAssembler a, BpfTableLayout layout, string labels, string done)
    {
        // R7: the exit's nanoseconds (the stamp is no longer needed); R8 goes into the log2.
        a.Call(Interop.Abi.BPF_FUNC_ktime_get_ns).Subtract(R0, R7).Mov(R8, R0).Mov(R7, R0);
        a.Store(BpfSize.DoubleWord, R9, 0, 0);
        Log2(a, labels);
        if (layout.PerThread)
            ThreadProgram.EmitLatency(a, layout, BucketSave, EntryRow, labels);
        a.Load(BpfSize.Word, R2, R9, 12).Store(BpfSize.Word, R10, HistogramKey, R2);
        a.Load(BpfSize.Word, R2, R9, 8).Store(BpfSize.Half, R10, HistogramKey + 4, R2);
        a.Store(BpfSize.Half, R10, HistogramKey + 6, R1);
        a.LoadMap(R1, Histograms).Mov(R2, R10).Add(R2, HistogramKey).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);
        a.JumpIf(BpfCondition.NotEqual, R0, 0, labels + "add");
        // A bucket met for the first time: inserted with its first event, unless another CPU did meanwhile.
        a.Store(BpfSize.DoubleWord, R10, FirstValue, 1).Store(BpfSize.DoubleWord, R10, FirstValue + 8, R7);
        a.LoadMap(R1, Histograms).Mov(R2, R10).Add(R2, HistogramKey).Mov(R3, R10).Add(R3, FirstValue)
            .Mov(R4, (int)Interop.Abi.BPF_NOEXIST).Call(Interop.Abi.BPF_FUNC_map_update_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, done);
        a.LoadMap(R1, Histograms).Mov(R2, R10).Add(R2, HistogramKey).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, labels + "lost");
        a.Label(labels + "add").Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R0, 0, R1).AtomicAddTo(BpfSize.DoubleWord, R0, 8, R7).Jump(done);
        // The table of histograms is full: the event is counted as lost, never dropped in silence.
        a.Label(labels + "lost").Store(BpfSize.Word, R10, LostKey, 0);
        a.LoadMap(R1, Lost).Mov(R2, R10).Add(R2, LostKey).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, done).Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R0, 0, R1);
    }

    /// <summary>R1 = floor(log2(R8)) (0 for 0 and 1), by halving the width six times; R8 is consumed.</summary>
    private static void Log2(BpfAssembler a, string labels)
    {
        a.Mov(R1, 0);
        foreach (int bits in new[] { 32, 16, 8, 4, 2, 1 })
        {
            a.Mov(R2, R8).ShiftRight(R2, bits).JumpIf(BpfCondition.Equal, R2, 0, $"{labels}below{bits}");
            a.Mov(R8, R2).Add(R1, bits);
            a.Label($"{labels}below{bits}");
        }
    }
}
