namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// Exit-reason tables for kernels whose tracefs format files cannot be parsed. The running
/// kernel's own tables (see <see cref="TraceFormatParser"/>) are preferred; these are the
/// ABI values from the kernel's uapi headers.
/// </summary>
internal static class BuiltinExitReasons
{
    internal static readonly IReadOnlyList<SymbolicEntry> Vmx = Table(
        (0, "EXCEPTION_NMI"), (1, "EXTERNAL_INTERRUPT"), (2, "TRIPLE_FAULT"), (3, "INIT_SIGNAL"),
        (4, "SIPI_SIGNAL"), (7, "INTERRUPT_WINDOW"), (8, "NMI_WINDOW"), (9, "TASK_SWITCH"),
        (10, "CPUID"), (12, "HLT"), (13, "INVD"), (14, "INVLPG"), (15, "RDPMC"), (16, "RDTSC"),
        (18, "VMCALL"), (19, "VMCLEAR"), (20, "VMLAUNCH"), (21, "VMPTRLD"), (22, "VMPTRST"),
        (23, "VMREAD"), (24, "VMRESUME"), (25, "VMWRITE"), (26, "VMOFF"), (27, "VMON"),
        (28, "CR_ACCESS"), (29, "DR_ACCESS"), (30, "IO_INSTRUCTION"), (31, "MSR_READ"),
        (32, "MSR_WRITE"), (33, "INVALID_STATE"), (34, "MSR_LOAD_FAIL"), (36, "MWAIT_INSTRUCTION"),
        (37, "MONITOR_TRAP_FLAG"), (39, "MONITOR_INSTRUCTION"), (40, "PAUSE_INSTRUCTION"),
        (41, "MCE_DURING_VMENTRY"), (43, "TPR_BELOW_THRESHOLD"), (44, "APIC_ACCESS"),
        (45, "EOI_INDUCED"), (46, "GDTR_IDTR"), (47, "LDTR_TR"), (48, "EPT_VIOLATION"),
        (49, "EPT_MISCONFIG"), (50, "INVEPT"), (51, "RDTSCP"), (52, "PREEMPTION_TIMER"),
        (53, "INVVPID"), (54, "WBINVD"), (55, "XSETBV"), (56, "APIC_WRITE"), (57, "RDRAND"),
        (58, "INVPCID"), (59, "VMFUNC"), (60, "ENCLS"), (61, "RDSEED"), (62, "PML_FULL"),
        (63, "XSAVES"), (64, "XRSTORS"), (67, "UMWAIT"), (68, "TPAUSE"), (74, "BUS_LOCK"),
        (75, "NOTIFY"));

    internal static readonly IReadOnlyList<SymbolicEntry> Svm = Table(
        (0x000, "READ_CR0"), (0x003, "READ_CR3"), (0x004, "READ_CR4"), (0x008, "READ_CR8"),
        (0x010, "WRITE_CR0"), (0x013, "WRITE_CR3"), (0x014, "WRITE_CR4"), (0x018, "WRITE_CR8"),
        (0x020, "READ_DR0"), (0x021, "READ_DR1"), (0x022, "READ_DR2"), (0x023, "READ_DR3"),
        (0x024, "READ_DR4"), (0x025, "READ_DR5"), (0x026, "READ_DR6"), (0x027, "READ_DR7"),
        (0x030, "WRITE_DR0"), (0x031, "WRITE_DR1"), (0x032, "WRITE_DR2"), (0x033, "WRITE_DR3"),
        (0x034, "WRITE_DR4"), (0x035, "WRITE_DR5"), (0x036, "WRITE_DR6"), (0x037, "WRITE_DR7"),
        (0x040, "EXCP_BASE"), (0x060, "INTR"), (0x061, "NMI"), (0x062, "SMI"), (0x063, "INIT"),
        (0x064, "VINTR"), (0x065, "CR0_SEL_WRITE"), (0x066, "IDTR_READ"), (0x067, "GDTR_READ"),
        (0x068, "LDTR_READ"), (0x069, "TR_READ"), (0x06a, "IDTR_WRITE"), (0x06b, "GDTR_WRITE"),
        (0x06c, "LDTR_WRITE"), (0x06d, "TR_WRITE"), (0x06e, "RDTSC"), (0x06f, "RDPMC"),
        (0x070, "PUSHF"), (0x071, "POPF"), (0x072, "CPUID"), (0x073, "RSM"), (0x074, "IRET"),
        (0x075, "SWINT"), (0x076, "INVD"), (0x077, "PAUSE"), (0x078, "HLT"), (0x079, "INVLPG"),
        (0x07a, "INVLPGA"), (0x07b, "IOIO"), (0x07c, "MSR"), (0x07d, "TASK_SWITCH"),
        (0x07e, "FERR_FREEZE"), (0x07f, "SHUTDOWN"), (0x080, "VMRUN"), (0x081, "VMMCALL"),
        (0x082, "VMLOAD"), (0x083, "VMSAVE"), (0x084, "STGI"), (0x085, "CLGI"), (0x086, "SKINIT"),
        (0x087, "RDTSCP"), (0x088, "ICEBP"), (0x089, "WBINVD"), (0x08a, "MONITOR"), (0x08b, "MWAIT"),
        (0x08c, "MWAIT_COND"), (0x08d, "XSETBV"), (0x400, "NPF"));

    // Exception classes of ESR_EL2 (arch/arm64/include/asm/esr.h).
    internal static readonly IReadOnlyList<SymbolicEntry> AArch64 = Table(
        (0x00, "UNKNOWN"), (0x01, "WFI"), (0x03, "CP15_32"), (0x04, "CP15_64"), (0x05, "CP14_MR"),
        (0x06, "CP14_LS"), (0x07, "FP_ASIMD"), (0x08, "CP10_ID"), (0x0C, "CP14_64"), (0x0E, "ILL_ISS"),
        (0x11, "SVC32"), (0x12, "HVC32"), (0x13, "SMC32"), (0x15, "SVC64"), (0x16, "HVC64"),
        (0x17, "SMC64"), (0x18, "SYS64"), (0x20, "IABT"), (0x21, "IABT_HYP"), (0x22, "PC_ALIGN"),
        (0x24, "DABT"), (0x25, "DABT_HYP"), (0x26, "SP_ALIGN"), (0x28, "FP_EXC32"), (0x2C, "FP_EXC64"),
        (0x2F, "SERROR"), (0x30, "BREAKPT"), (0x31, "BREAKPT_HYP"), (0x32, "SOFTSTP"),
        (0x33, "SOFTSTP_HYP"), (0x34, "WATCHPT"), (0x35, "WATCHPT_HYP"), (0x38, "BKPT32"),
        (0x3A, "VECTOR32"), (0x3C, "BRK64"));

    // KVM_EXIT_* from include/uapi/linux/kvm.h (a test checks them against the installed header).
    // Kernels emit reasons their own tracepoint's print format does not list (it stops at 30 on
    // 6.x kernels), so this table is always merged in.
    internal static readonly IReadOnlyList<SymbolicEntry> Userspace = Table(
        (0, "UNKNOWN"), (1, "EXCEPTION"), (2, "IO"), (3, "HYPERCALL"), (4, "DEBUG"), (5, "HLT"),
        (6, "MMIO"), (7, "IRQ_WINDOW_OPEN"), (8, "SHUTDOWN"), (9, "FAIL_ENTRY"), (10, "INTR"),
        (11, "SET_TPR"), (12, "TPR_ACCESS"), (13, "S390_SIEIC"), (14, "S390_RESET"), (15, "DCR"),
        (16, "NMI"), (17, "INTERNAL_ERROR"), (18, "OSI"), (19, "PAPR_HCALL"), (20, "S390_UCONTROL"),
        (21, "WATCHDOG"), (22, "S390_TSCH"), (23, "EPR"), (24, "SYSTEM_EVENT"), (25, "S390_STSI"),
        (26, "IOAPIC_EOI"), (27, "HYPERV"), (28, "ARM_NISV"), (29, "X86_RDMSR"), (30, "X86_WRMSR"),
        (31, "DIRTY_RING_FULL"), (32, "AP_RESET_HOLD"), (33, "X86_BUS_LOCK"), (34, "XEN"),
        (35, "RISCV_SBI"), (36, "RISCV_CSR"), (37, "NOTIFY"), (38, "LOONGARCH_IOCSR"),
        (39, "MEMORY_FAULT"), (40, "TDX"));

    private static SymbolicEntry[] Table(params (long Value, string Name)[] entries) =>
        Array.ConvertAll(entries, e => new SymbolicEntry(e.Value, e.Name));
}
