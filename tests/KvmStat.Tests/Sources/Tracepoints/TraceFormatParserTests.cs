using System.Globalization;
using System.Text;
using CsCheck;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Tracepoints;

public class TraceFormatParserTests
{
    [Fact]
    public void ParsesTheKvmExitFormatOfAnX86Kernel()
    {
        TraceFormat format = TraceFormatParser.Parse(FixtureRoot.TestData("kvm_exit.format"));

        Assert.Equal("kvm_exit", format.Name);
        Assert.Equal(103, format.Id);
        Assert.Equal(new TraceField("exit_reason", 4, false, Offset: 8), format.FindField("exit_reason"));

        // VMX table first (under "isa == 1"), then SVM; both on exit_reason.
        SymbolicTable vmx = Assert.Single(format.Tables, t => t.Field == "exit_reason" && t.Ordinal == 0);
        SymbolicTable svm = Assert.Single(format.Tables, t => t.Field == "exit_reason" && t.Ordinal == 1);
        Assert.Contains(new SymbolicEntry(12, "HLT"), vmx.Entries);
        Assert.Contains(new SymbolicEntry(30, "IO_INSTRUCTION"), vmx.Entries);
        Assert.Contains(new SymbolicEntry(0x078, "hlt"), svm.Entries);
        // "0x040 + 14" is evaluated, not skipped.
        Assert.Contains(new SymbolicEntry(0x4e, "PF excp"), svm.Entries);
        Assert.Contains(new SymbolicEntry(-1, "invalid_guest_state"), svm.Entries);
        Assert.Contains(new SymbolicEntry(0x8000fffd, "vmgexit_hypervisor_feature"), svm.Entries);
    }

    [Fact]
    public void JoinsAdjacentStringLiterals()
    {
        TraceFormat format = TraceFormatParser.Parse(FixtureRoot.TestData("kvm_userspace_exit.format"));

        SymbolicTable table = Assert.Single(format.Tables);
        Assert.Equal("reason", table.Field);
        Assert.Contains(new SymbolicEntry(2, "KVM_EXIT_IO"), table.Entries);
        Assert.Contains(new SymbolicEntry(6, "KVM_EXIT_MMIO"), table.Entries);
        Assert.Contains(new SymbolicEntry(5, "KVM_EXIT_HLT"), table.Entries);
    }

    [Fact]
    public void AFormatWithoutTablesHasNone()
    {
        TraceFormat format = TraceFormatParser.Parse(FixtureRoot.TestData("kvm_pio.format"));
        Assert.Empty(format.Tables);
        Assert.Equal("kvm_pio", format.Name);
    }

    [Theory]
    [InlineData("__print_symbolic(REC->x, { 1, \"A\" }")] // no closing parenthesis
    [InlineData("__print_symbolic(REC->x, { 1, \"A }")] // unterminated string
    [InlineData("__print_symbolic(REC->x, { 1 \"A\" })")] // no comma
    [InlineData("__print_symbolic(")]
    [InlineData("__print_symbolic(no_rec_field, { 1, \"A\" })")]
    public void BrokenTablesAreSkippedNotFatal(string printFormat)
    {
        Assert.Empty(TraceFormatParser.ParseSymbolicTables(printFormat));
    }

    [Fact]
    public void EntriesWithUnknownExpressionsAreSkipped()
    {
        IReadOnlyList<SymbolicTable> tables = TraceFormatParser.ParseSymbolicTables(
            "\"%s\", __print_symbolic(REC->r, { SOME_MACRO, \"X\" }, { 3, \"Y\" })");
        Assert.Equal([new SymbolicEntry(3, "Y")], Assert.Single(tables).Entries);
    }

    [Theory]
    [InlineData("0x040 + 0", 0x40)]
    [InlineData("-1", -1)]
    [InlineData("(1 << 4) | 1", 17)]
    [InlineData("0x80000001", 0x80000001)]
    [InlineData("010", 8)]
    [InlineData("10UL", 10)]
    [InlineData("~0 & 0xff", 0xff)]
    [InlineData("2 * 3 + 4", 10)]
    public void EvaluatesConstantExpressions(string text, long expected)
    {
        Assert.True(ConstantExpression.TryEvaluate(text, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("FOO")]
    [InlineData("1 +")]
    [InlineData("(1")]
    [InlineData("1 / 0")]
    [InlineData("(int)1")]
    public void RejectsWhatItCannotEvaluate(string text)
    {
        Assert.False(ConstantExpression.TryEvaluate(text, out _));
    }

    private static readonly Gen<string> s_name = Gen.String[Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZ_ abcxyz0123456789-\\\"(),{}"], 1, 20];

    private static readonly Gen<(long Value, string Name, int Style)[]> s_table =
        Gen.Select(Gen.Long[-1000, 0xffffffffL], s_name, Gen.Int[0, 3]).Array[1, 40];

    /// <summary>Any table, rendered the ways kernels render keys and names, parses back to itself.</summary>
    [Fact]
    public void RenderedTablesParseBack()
    {
        Gen.Select(s_table, Gen.Int[0, 2]).Sample(sample =>
        {
            ((long Value, string Name, int Style)[] entries, int prefixStyle) = sample;
            string printFormat = Render("reason", entries, prefixStyle);
            SymbolicTable table = Assert.Single(TraceFormatParser.ParseSymbolicTables(printFormat));
            Assert.Equal("reason", table.Field);
            Assert.Equal(entries.Select(e => new SymbolicEntry(e.Value, e.Name)), table.Entries);
        });
    }

    private static string Render(string field, (long Value, string Name, int Style)[] entries, int prefixStyle)
    {
        var text = new StringBuilder("\"reason %s (%d)\", ");
        text.Append(prefixStyle switch
        {
            0 => "",
            1 => "REC->errno < 0 ? \"error, (x)\" : ",
            _ => "(REC->isa == 1) ? ",
        });
        text.Append($"__print_symbolic(REC->{field} & 0xffff");
        foreach ((long value, string name, int style) in entries)
        {
            string key = style switch
            {
                0 => value.ToString(CultureInfo.InvariantCulture),
                1 => value < 0 ? $"-{-value}" : $"0x{value:x}",
                2 => value < 0 ? $"({value})" : $"0x{Math.Max(0, value - 7):x} + {Math.Min(7, value)}",
                _ => value < 0 ? $"- {-value}" : $"{value}U",
            };
            string escaped = name.Replace("\\", "\\\\").Replace("\"", "\\\"");
            // Long names are split into adjacent literals, as the kernel's macros produce them.
            string literal = escaped.Length > 4 && style % 2 == 0
                ? $"\"{escaped[..2]}\" \"{escaped[2..]}\""
                : $"\"{escaped}\"";
            if (escaped.Length > 4 && style % 2 == 0 && escaped[1] == '\\')
                literal = $"\"{escaped}\"";
            text.Append($", {{ {key}, {literal} }}");
        }
        text.Append("), REC->errno");
        return text.ToString();
    }

    /// <summary>A format file cut anywhere: no crash, and a field it still gives has its true offset and size, or none (-1, 0).</summary>
    [Fact]
    public void ATruncatedFormatGivesNoWrongField()
    {
        string text = FixtureRoot.TestData("kvm_exit.format");
        TraceFormat whole = TraceFormatParser.Parse(text);
        for (int length = 0; length <= text.Length; length++)
        {
            TraceFormat cut = TraceFormatParser.Parse(text[..length]);
            foreach (TraceField field in cut.Fields)
            {
                TraceField real = whole.Fields.Single(f => f.Name == field.Name);
                Assert.True(field.Offset is -1 || field.Offset == real.Offset, $"cut at {length}: {field} instead of {real}");
                Assert.True(field.Size is 0 || field.Size == real.Size, $"cut at {length}: {field} instead of {real}");
            }
        }
    }

    [Fact]
    public void AnyTextParses()
    {
        Gen<string> token = Gen.OneOf(
            Gen.Const("field:"), Gen.Const("offset:"), Gen.Const("size:"), Gen.Const(";"), Gen.Const("\n"), Gen.Const("print fmt: "),
            Gen.Const("__print_symbolic("), Gen.Const("REC->exit_reason"), Gen.Const("{ 0x"), Gen.Const(", \""), Gen.Const("\" }"),
            Gen.Const(")"), Gen.Const("("), Gen.Const(","), Gen.String[Gen.Char["0123456789abcxyz_ -|&<>"], 0, 6]);
        token.Array[0, 60].Sample(tokens =>
        {
            TraceFormat format = TraceFormatParser.Parse(string.Concat(tokens));
            Assert.All(format.Fields, f => Assert.False(string.IsNullOrWhiteSpace(f.Name)));
        }, iter: 3000);
    }
}
