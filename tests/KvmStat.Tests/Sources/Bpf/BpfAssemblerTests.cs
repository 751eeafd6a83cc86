using System.Buffers.Binary;
using System.Diagnostics;
using KvmStat.Sources.Bpf;
using static KvmStat.Sources.Bpf.BpfRegister;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// The assembler's encodings against a reference: LLVM's BPF assembler (clang -target bpf) for
/// every instruction it can write, the kernel's own macros (include/linux/filter.h) for the two it
/// cannot (a store of an immediate, and a map's descriptor, which libbpf puts in at load).
/// </summary>
public class BpfAssemblerTests
{
    /// <summary>Assembles LLVM BPF assembly with clang and returns the .text section's bytes.</summary>
    private static byte[] Clang(string assembly)
    {
        Assert.SkipUnless(File.Exists("/usr/bin/clang"), "clang is not installed (./test.sh installs it)");
        string folder = Directory.CreateTempSubdirectory("kvm_stat-bpfasm-").FullName;
        try
        {
            string source = Path.Join(folder, "a.s"), target = Path.Join(folder, "a.o");
            File.WriteAllText(source, assembly);
            var info = new ProcessStartInfo("/usr/bin/clang") { RedirectStandardError = true };
            foreach (string argument in new[] { "-target", "bpf", "-c", source, "-o", target })
                info.ArgumentList.Add(argument);
            using (Process clang = Process.Start(info)!)
            {
                string errors = clang.StandardError.ReadToEnd();
                clang.WaitForExit();
                Assert.True(clang.ExitCode == 0, errors);
            }
            return TextSection(File.ReadAllBytes(target));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The .text section of a little-endian ELF64 object.</summary>
    private static byte[] TextSection(byte[] elf)
    {
        long sections = BinaryPrimitives.ReadInt64LittleEndian(elf.AsSpan(0x28));
        int size = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3a));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3c));
        int names = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3e));
        Span<byte> Header(int i) => elf.AsSpan((int)sections + i * size, size);
        long namesAt = BinaryPrimitives.ReadInt64LittleEndian(Header(names)[0x18..]);
        for (int i = 0; i < count; i++)
        {
            int name = BinaryPrimitives.ReadInt32LittleEndian(Header(i));
            int end = Array.IndexOf(elf, (byte)0, (int)namesAt + name);
            if (System.Text.Encoding.ASCII.GetString(elf, (int)namesAt + name, end - (int)namesAt - name) != ".text")
                continue;
            long offset = BinaryPrimitives.ReadInt64LittleEndian(Header(i)[0x18..]);
            long length = BinaryPrimitives.ReadInt64LittleEndian(Header(i)[0x20..]);
            return elf.AsSpan((int)offset, (int)length).ToArray();
        }
        throw new InvalidOperationException("no .text section");
    }

    private static byte[] Bytes(BpfCode code) => code.Encode(map => throw new InvalidOperationException($"no map expected: {map}"));

    [Fact]
    public void EveryInstructionIsEncodedAsLlvmEncodesIt()
    {
        BpfCode code = new BpfAssembler()
            .Mov(R0, 5).Mov(R1, R2).Mov(R1, -1).Add(R1, 7).Add(R1, R2).Add(R2, -12).ShiftLeft(R1, 3).ShiftRight(R8, 32)
            .LoadImmediate64(R1, 0x1122334455667788)
            .Load(BpfSize.Byte, R7, R6, 12).Load(BpfSize.Half, R7, R6, 12).Load(BpfSize.Word, R7, R1, 12).Load(BpfSize.DoubleWord, R1, R10, -32)
            .Store(BpfSize.Word, R10, -8, R8).Store(BpfSize.DoubleWord, R9, 8, R2).Store(BpfSize.Half, R10, -2, R3).Store(BpfSize.Byte, R10, -1, R4)
            .AtomicAddTo(BpfSize.DoubleWord, R9, 24, R1).AtomicAddTo(BpfSize.Word, R9, -8, R1)
            .Call(14).Call(88).Exit()
            .Build();
        Assert.Equal(Clang("""
            r0 = 5
            r1 = r2
            r1 = -1
            r1 += 7
            r1 += r2
            r2 += -12
            r1 <<= 3
            r8 >>= 32
            r1 = 0x1122334455667788 ll
            r7 = *(u8 *)(r6 + 12)
            r7 = *(u16 *)(r6 + 12)
            r7 = *(u32 *)(r1 + 12)
            r1 = *(u64 *)(r10 - 32)
            *(u32 *)(r10 - 8) = r8
            *(u64 *)(r9 + 8) = r2
            *(u16 *)(r10 - 2) = r3
            *(u8 *)(r10 - 1) = r4
            lock *(u64 *)(r9 + 24) += r1
            lock *(u32 *)(r9 - 8) += r1
            call 14
            call 88
            exit

            """), Bytes(code));
    }

    /// <summary>Jumps count instructions from the one after the jump, forward and back, over a 64-bit constant's two slots.</summary>
    [Fact]
    public void JumpsAndTheirOffsetsAreEncodedAsLlvmEncodesThem()
    {
        BpfCode code = new BpfAssembler()
            .Label("top").Mov(R1, 0)
            .JumpIf(BpfCondition.Equal, R0, 0, "end")
            .JumpIf(BpfCondition.NotEqual, R1, R8, "top")
            .LoadImmediate64(R2, 1UL << 32)
            .JumpIf(BpfCondition.GreaterOrEqual, R7, 4096, "top")
            .JumpIf(BpfCondition.Greater, R7, R1, "next").Label("next")
            .JumpIf(BpfCondition.Less, R1, 3, "end")
            .JumpIf(BpfCondition.LessOrEqual, R1, 3, "end")
            .Jump("top")
            .Label("end").Exit()
            .Build();
        Assert.Equal(Clang("""
            r1 = 0
            if r0 == 0 goto +8
            if r1 != r8 goto -3
            r2 = 4294967296 ll
            if r7 >= 4096 goto -6
            if r7 > r1 goto +0
            if r1 < 3 goto +2
            if r1 <= 3 goto +1
            goto -10
            exit

            """), Bytes(code));
    }

    /// <summary>BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0) and BPF_ST_MEM(BPF_DW, BPF_REG_9, 8, -1), as the kernel's macros build them.</summary>
    [Fact]
    public void StoresOfImmediatesAreEncodedAsTheKernelsMacrosBuildThem()
    {
        BpfCode code = new BpfAssembler().Store(BpfSize.Word, R10, -4, 0).Store(BpfSize.DoubleWord, R9, 8, -1).Build();
        Assert.Equal(
            [0x62, 0x0a, 0xfc, 0xff, 0, 0, 0, 0,
             0x7a, 0x09, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff],
            Bytes(code));
    }

    /// <summary>
    /// Every other instruction the emitter makes, as the kernel's macros in include/linux/filter.h
    /// build them (code = class | op | source, then dst | src << 4, off, imm, little-endian): the
    /// encodings pinned without clang.
    /// </summary>
    [Fact]
    public void EveryInstructionIsEncodedAsTheKernelsMacrosBuildIt()
    {
        BpfCode code = new BpfAssembler()
            .Mov(R0, 1)                                     // BPF_MOV64_IMM(BPF_REG_0, 1)
            .Mov(R6, R1)                                    // BPF_MOV64_REG(BPF_REG_6, BPF_REG_1)
            .Add(R2, -8)                                    // BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8)
            .Add(R1, R2)                                    // BPF_ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_2)
            .Subtract(R1, R2)                               // BPF_ALU64_REG(BPF_SUB, BPF_REG_1, BPF_REG_2)
            .ShiftLeft(R1, 3)                               // BPF_ALU64_IMM(BPF_LSH, BPF_REG_1, 3)
            .ShiftRight(R1, 32)                             // BPF_ALU64_IMM(BPF_RSH, BPF_REG_1, 32)
            .Load(BpfSize.DoubleWord, R1, R6, 8)            // BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_6, 8)
            .Store(BpfSize.Word, R10, -4, R1)               // BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, -4)
            .AtomicAddTo(BpfSize.DoubleWord, R0, 0, R1)     // BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_0, BPF_REG_1, 0)
            .Call(1)                                        // BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)
            .LoadImmediate64(R3, 0x1_0000_0002)             // BPF_LD_IMM64(BPF_REG_3, 0x100000002)
            .Exit()                                         // BPF_EXIT_INSN()
            .Build();
        Assert.Equal(
            [0xb7, 0x00, 0, 0, 0x01, 0, 0, 0,
             0xbf, 0x16, 0, 0, 0, 0, 0, 0,
             0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff,
             0x0f, 0x21, 0, 0, 0, 0, 0, 0,
             0x1f, 0x21, 0, 0, 0, 0, 0, 0,
             0x67, 0x01, 0, 0, 0x03, 0, 0, 0,
             0x77, 0x01, 0, 0, 0x20, 0, 0, 0,
             0x79, 0x61, 0x08, 0x00, 0, 0, 0, 0,
             0x63, 0x1a, 0xfc, 0xff, 0, 0, 0, 0,
             0xdb, 0x10, 0, 0, 0, 0, 0, 0,
             0x85, 0x00, 0, 0, 0x01, 0, 0, 0,
             0x18, 0x03, 0, 0, 0x02, 0, 0, 0,
             0x00, 0x00, 0, 0, 0x01, 0, 0, 0,
             0x95, 0x00, 0, 0, 0, 0, 0, 0],
            Bytes(code));
    }

    /// <summary>BPF_LD_MAP_FD(BPF_REG_1, fd): ld_imm64 with src_reg BPF_PSEUDO_MAP_FD and the descriptor, the map's at load.</summary>
    [Fact]
    public void AMapIsNamedInTheProgramAndGivenItsDescriptorAtLoad()
    {
        BpfCode code = new BpfAssembler().LoadMap(R1, "counts").LoadMap(R2, "slots").Exit().Build();
        Assert.Equal([(0, "counts"), (2, "slots")], code.MapReferences);
        Assert.Equal(["counts", "slots"], code.Maps);
        byte[] bytes = code.Encode(map => map == "counts" ? 7 : 0x1234);
        Assert.Equal(
            [0x18, 0x11, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             0x18, 0x12, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             0x95, 0, 0, 0, 0, 0, 0, 0],
            bytes);
        Assert.Throws<InvalidOperationException>(() => Bytes(code));
    }

    [Fact]
    public void ProgramsAreValuesThatCompareAndPrint()
    {
        static BpfCode Build(int value) => new BpfAssembler().LoadMap(R1, "counts").Mov(R0, value).JumpIf(BpfCondition.Equal, R0, 0, "out").Label("out").Exit().Build();
        Assert.Equal(Build(1), Build(1));
        Assert.Equal(Build(1).GetHashCode(), Build(1).GetHashCode());
        Assert.NotEqual(Build(1), Build(2));
        Assert.Equal("""
               0: r1 = map counts ll
               2: r0 = 1
               3: if r0 == 0 goto +0
               4: exit

            """.Replace("\r", ""), Build(1).ToString());
        // Each instruction decodes back to itself.
        byte[] bytes = Build(1).Encode(_ => 0);
        for (int i = 0; i < Build(1).Instructions.Count; i++)
        {
            BpfInstruction decoded = BpfInstruction.Decode(bytes.AsSpan(i * 8, 8));
            Assert.Equal(i == 0 ? Build(1).Instructions[0] with { Source = (BpfRegister)1 } : Build(1).Instructions[i], decoded);
        }
    }

    [Fact]
    public void LabelsMustBeDefinedOnceAndJumpsMustReachOne()
    {
        Assert.Throws<InvalidOperationException>(() => new BpfAssembler().Label("a").Label("a"));
        Assert.Throws<InvalidOperationException>(() => new BpfAssembler().Jump("nowhere").Build());
    }
}
