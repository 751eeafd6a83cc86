using static KvmStat.Sources.Bpf.BpfRegister;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The programs of the BPF engine, as <see cref="BpfCode"/> over the maps of a
/// <see cref="BpfTableLayout"/>, named: <see cref="Counts"/> (the rows), and per process
/// <see cref="Slots"/> (process → slot), <see cref="Free"/> (the free slots), <see cref="Cache"/>
/// (per CPU: the last process counted there and its slot) and <see cref="Epoch"/> (advanced whenever
/// a process loses its slot: a cache entry of an older epoch is not trusted).
/// <para>
/// A counting program, on each hit of its tracepoint, finds the row of the current process (the
/// cache, else the table, else a new slot from the free ones, else slot 0: no slot left), adds one
/// to the tracepoint's counter in it, and for a tracepoint with exit-reason children one to the
/// child of the event's reason. The exit program frees the slot of a process whose main thread
/// exits and marks its row, so a pid used again starts in a row of its own.
/// </para>
/// </summary>
internal static class CounterProgram
{
    internal const string Counts = "counts", Slots = "slots", Free = "free", Cache = "cache", Epoch = "epoch", Reasons = "reasons";

    /// <summary>Where a program finds the event's reason.</summary>
    internal enum ReasonSource
    {
        /// <summary>In the tracepoint's record (a classic tracepoint program), at the offset its format file gives.</summary>
        Record,

        /// <summary>In the tracepoint's arguments (a raw tracepoint program): argument N at offset 8 × N.</summary>
        Argument,
    }

    /// <summary>How one tracepoint is counted.</summary>
    /// <param name="FieldIndex">The tracepoint's own counter in the row.</param>
    /// <param name="Reasons">For exit-reason children: where the reason is, and which child counts each value.</param>
    /// <param name="StampsExits">Also stamp the thread with the time and its reason's child, for exit latencies (<see cref="LatencyProgram"/>).</param>
    /// <param name="Tracepoint">Per vCPU thread (--vcpus): the tracepoint's ordinal, its counter in a thread's row (-1: not per thread).</param>
    /// <param name="PlacesThreads">Per vCPU thread: it fires on vCPU threads alone, so a thread without a row gets one.</param>
    /// <param name="ExitKind">For a stamp: 0, an exit handled in user space; 1, in the kernel.</param>
    /// <param name="EndsKernelPart">Before its stamp, end the thread's exit in the kernel (kvm_userspace_exit where kvm_exit stamps too).</param>
    /// <param name="ThreadReasonsBelow">
    /// Per vCPU thread: count its exits by reason too, those whose child's field is below this (the
    /// shown ones: a reason counted for latencies alone takes no slot of a thread's row); 0: none.
    /// </param>
    internal sealed record Spec(int FieldIndex, ReasonSpec? Reasons, bool StampsExits = false, int Tracepoint = -1, bool PlacesThreads = false, int ExitKind = 0,
        bool EndsKernelPart = false, int ThreadReasonsBelow = 0);

    /// <param name="Offset">The reason's offset in the record, or in the arguments (8 × its index).</param>
    /// <param name="Size">Its size in bytes (1, 2, 4 or 8).</param>
    /// <param name="Entries">The entries of the <see cref="Reasons"/> array map: reason value (below this) → the child's index in the row.</param>
    /// <param name="LargeValues">Children of values beyond the array (0xffffffff...), as the unsigned value of the field's width → index.</param>
    /// <param name="OtherIndex">The child that counts every other value.</param>
    internal sealed record ReasonSpec(ReasonSource Source, int Offset, int Size, int Entries, IReadOnlyList<(ulong Value, int Index)> LargeValues, int OtherIndex);

    // Stack slots (below the frame pointer R10).
    private const short KeyZero = -4, TgidKey = -8, NewSlot = -12, SlotKey = -16, ReasonKey = -20, EpochValue = -32;

    /// <summary>The program that counts one tracepoint.</summary>
    internal static BpfCode Emit(Spec spec, BpfTableLayout layout, BpfScope scope)
    {
        var a = new BpfAssembler();
        if (spec.Reasons is ReasonSpec reasons)
            a.Load(SizeOf(reasons.Size), R7, R1, checked((short)reasons.Offset));
        if (scope.PerProcess)
            FindSlot(a);
        else if (scope.Pid > 0)
            a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).ShiftRight(R0, 32).JumpIf(BpfCondition.NotEqual, R0, scope.Pid, "out").Mov(R1, 0);
        else
            a.Mov(R1, 0);
        AddToRow(a, spec, layout);
        if (layout.PerThread && spec.Tracepoint >= 0)
            ThreadProgram.EmitCount(a, spec.Tracepoint, layout, spec.PlacesThreads, reasonsBelow: spec.Reasons is null ? 0 : spec.ThreadReasonsBelow);
        if (spec.StampsExits && spec.Reasons is not null)
        {
            if (spec.EndsKernelPart)
                LatencyProgram.EmitEndOfKernelPart(a, layout);
            LatencyProgram.EmitStamp(a, SlotKey, layout, spec.ExitKind);
        }
        // A classic tracepoint program's result decides whether the kernel passes the event on to
        // the tracepoint's perf events: 0 would hide it from perf stat and every other counter of
        // it on the host. (A raw tracepoint's result is ignored.)
        a.Label("out").Mov(R0, 1).Exit();
        return a.Build();
    }

    /// <summary>
    /// R1 = the slot of the current process: the cache when it holds this process in this epoch,
    /// else the table, else a new slot (its row marked with the process), else 0. Slot 0 is never
    /// cached, so an empty cache entry (process 0, slot 0) is always a miss. A process user space
    /// found to run no VM has the row outside VMs (<see cref="BpfTableLayout.OutsideSlot"/>) for its
    /// slot; only user space and the exit program change an entry once it is made.
    /// </summary>
    private static void FindSlot(BpfAssembler a)
    {
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Mov(R8, R0).ShiftRight(R8, 32);
        a.Store(BpfSize.Word, R10, KeyZero, 0);
        Lookup(a, Epoch, KeyZero).JumpIf(BpfCondition.Equal, R0, 0, "out");
        a.Load(BpfSize.DoubleWord, R1, R0, 0).Store(BpfSize.DoubleWord, R10, EpochValue, R1);

        Lookup(a, Cache, KeyZero).JumpIf(BpfCondition.Equal, R0, 0, "out").Mov(R9, R0);
        a.Load(BpfSize.Word, R1, R9, 0).JumpIf(BpfCondition.NotEqual, R1, R8, "miss");
        a.Load(BpfSize.DoubleWord, R1, R9, 8).Load(BpfSize.DoubleWord, R2, R10, EpochValue).JumpIf(BpfCondition.NotEqual, R1, R2, "miss");
        a.Load(BpfSize.Word, R1, R9, 4).JumpIf(BpfCondition.NotEqual, R1, 0, "slot");

        a.Label("miss").Store(BpfSize.Word, R10, TgidKey, R8);
        Lookup(a, Slots, TgidKey).JumpIf(BpfCondition.Equal, R0, 0, "allocate");
        a.Load(BpfSize.Word, R1, R0, 0).Jump("cache");
        // A process seen for the first time: a slot from the free queue, inserted if no other CPU
        // inserted one meanwhile (then that one is used, and this slot goes back to the queue).
        a.Label("allocate").LoadMap(R1, Free).Mov(R2, R10).Add(R2, NewSlot).Call(Interop.Abi.BPF_FUNC_map_pop_elem);
        a.JumpIf(BpfCondition.NotEqual, R0, 0, "unplaced");
        a.LoadMap(R1, Slots).Mov(R2, R10).Add(R2, TgidKey).Mov(R3, R10).Add(R3, NewSlot)
            .Mov(R4, (int)Interop.Abi.BPF_NOEXIST).Call(Interop.Abi.BPF_FUNC_map_update_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, "inserted");
        a.LoadMap(R1, Free).Mov(R2, R10).Add(R2, NewSlot).Mov(R3, 0).Call(Interop.Abi.BPF_FUNC_map_push_elem);
        Lookup(a, Slots, TgidKey).JumpIf(BpfCondition.Equal, R0, 0, "unplaced");
        a.Load(BpfSize.Word, R1, R0, 0).Jump("cache");

        // The new row's owner word says whose it is: user space reads the table from its rows.
        a.Label("inserted").Load(BpfSize.Word, R1, R10, NewSlot).Store(BpfSize.Word, R10, SlotKey, R1);
        Lookup(a, Counts, SlotKey).JumpIf(BpfCondition.Equal, R0, 0, "out");
        a.LoadImmediate64(R1, BpfTableLayout.OwnerInUse).Add(R1, R8).Store(BpfSize.DoubleWord, R0, 0, R1);
        a.Load(BpfSize.Word, R1, R10, NewSlot);

        a.Label("cache").Store(BpfSize.Word, R9, 0, R8).Store(BpfSize.Word, R9, 4, R1);
        a.Load(BpfSize.DoubleWord, R2, R10, EpochValue).Store(BpfSize.DoubleWord, R9, 8, R2).Jump("slot");
        a.Label("unplaced").Mov(R1, 0);
        a.Label("slot");
    }

    /// <summary>Adds one to the tracepoint's counter in slot R1's row, and one to its reason's child.</summary>
    private static void AddToRow(BpfAssembler a, Spec spec, BpfTableLayout layout)
    {
        a.Store(BpfSize.Word, R10, SlotKey, R1);
        Lookup(a, Counts, SlotKey).JumpIf(BpfCondition.Equal, R0, 0, "out").Mov(R9, R0);
        a.Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R9, checked((short)layout.FieldOffset(spec.FieldIndex)), R1);
        if (spec.Reasons is not ReasonSpec reason)
            return;
        // R7 holds the reason zero-extended, so a value is compared with its unsigned 64-bit form.
        for (int i = 0; i < reason.LargeValues.Count; i++)
            a.LoadImmediate64(R1, reason.LargeValues[i].Value).JumpIf(BpfCondition.Equal, R7, R1, $"large{i}");
        a.JumpIf(BpfCondition.GreaterOrEqual, R7, reason.Entries, "other");
        a.Store(BpfSize.Word, R10, ReasonKey, R7);
        Lookup(a, Reasons, ReasonKey).JumpIf(BpfCondition.Equal, R0, 0, "other");
        a.Load(BpfSize.Word, R1, R0, 0).Jump("child");
        for (int i = 0; i < reason.LargeValues.Count; i++)
            a.Label($"large{i}").Mov(R1, reason.LargeValues[i].Index).Jump("child");
        a.Label("other").Mov(R1, reason.OtherIndex);
        // The bound and the shift let the verifier see an aligned offset inside the row.
        a.Label("child").JumpIf(BpfCondition.GreaterOrEqual, R1, layout.Fields, "out").Mov(R7, R1).ShiftLeft(R1, 3);
        a.Add(R1, R9).Mov(R2, 1).AtomicAddTo(BpfSize.DoubleWord, R1, checked((short)layout.FieldOffset(0)), R2);
    }

    /// <summary>
    /// On sched_process_exit (every thread's exit): with latencies the thread's stamp goes. When a
    /// process's main thread exits, its slot leaves the table, its row
    /// is marked exited (user space takes its last counts, then frees it) and the epoch advances, so
    /// no CPU's cache sends a later process of the same pid to that row. Per vCPU thread, every
    /// thread's exit does the same with its own row first (<see cref="ThreadProgram.EmitExit"/>).
    /// </summary>
    internal static BpfCode EmitExit(BpfTableLayout layout)
    {
        var a = new BpfAssembler();
        if (layout.Latency)
            LatencyProgram.EmitForget(a);
        if (layout.PerThread)
            ThreadProgram.EmitExit(a);
        if (!layout.PerProcess)
            return a.Label("out").Mov(R0, 0).Exit().Build();
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Mov(R6, R0).ShiftRight(R6, 32);
        a.Mov(R7, R0).ShiftLeft(R7, 32).ShiftRight(R7, 32).JumpIf(BpfCondition.NotEqual, R6, R7, "out");
        a.Store(BpfSize.Word, R10, TgidKey, R6);
        Lookup(a, Slots, TgidKey).JumpIf(BpfCondition.Equal, R0, 0, "out");
        // A process counted outside VMs has no row of its own to mark: its entry goes.
        a.Load(BpfSize.Word, R1, R0, 0).JumpIf(BpfCondition.Equal, R1, layout.OutsideSlot, "forget").Store(BpfSize.Word, R10, SlotKey, R1);
        Lookup(a, Counts, SlotKey).JumpIf(BpfCondition.Equal, R0, 0, "out").Mov(R9, R0);
        a.LoadImmediate64(R1, BpfTableLayout.OwnerInUse | BpfTableLayout.OwnerExited).Add(R1, R6).Store(BpfSize.DoubleWord, R9, 0, R1);
        a.Label("forget").LoadMap(R1, Slots).Mov(R2, R10).Add(R2, TgidKey).Call(Interop.Abi.BPF_FUNC_map_delete_elem);
        a.Store(BpfSize.Word, R10, KeyZero, 0);
        Lookup(a, Epoch, KeyZero).JumpIf(BpfCondition.Equal, R0, 0, "out");
        a.Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R0, 0, R1);
        a.Label("out").Mov(R0, 0).Exit();
        return a.Build();
    }

    /// <summary>R0 = the entry of <paramref name="map"/> whose key is on the stack at <paramref name="key"/> (null: none).</summary>
    internal static BpfAssembler Lookup(BpfAssembler a, string map, short key) =>
        a.LoadMap(R1, map).Mov(R2, R10).Add(R2, key).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);

    private static BpfSize SizeOf(int bytes) => bytes switch
    {
        1 => BpfSize.Byte,
        2 => BpfSize.Half,
        4 => BpfSize.Word,
        8 => BpfSize.DoubleWord,
        _ => throw new BpfException($"a reason field of {bytes} bytes", Interop.Errno.EINVAL),
    };
}
