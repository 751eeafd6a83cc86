using KvmStat.Tests.Infrastructure;
using KvmStat.Stats;

namespace KvmStat.Tests.Stats;

public class FieldFilterTests
{
    private sealed record Item(string Name, string? Parent);

    private static readonly Item[] s_items =
    [
        new("kvm_exit", null), new("kvm_exit(HLT)", "kvm_exit"), new("kvm_exit(IO_INSTRUCTION)", "kvm_exit"),
        new("kvm_pio", null), new("kvm_mmio", null), new("kvm_userspace_exit", null),
        new("kvm_userspace_exit(IO)", "kvm_userspace_exit"),
    ];

    private static string[] Select(FieldFilter filter) =>
        [.. filter.Select(s_items, i => i.Name, i => i.Parent).Select(i => i.Name)];

    /// <summary>
    /// --guest-fields keeps a tracepoint's reasons with it, and a reason's tracepoint with the
    /// reason (as -f: a child brings its parent), for every output alike.
    /// </summary>
    [Fact]
    public void GuestFieldsKeepAReasonWithItsTracepointAndATracepointWithItsReasons()
    {
        var fields = new KvmStat.Sources.FieldSet([FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"),
            FakeSource.Counter("kvm_exit(IO_INSTRUCTION)", "kvm_exit"), FakeSource.Counter("kvm_pio")]);
        Assert.Equal([true, true, true, false], FieldFilter.Create("kvm_exit$").KeepsEach(fields));
        Assert.Equal([true, false, true, false], FieldFilter.Create(@"kvm_exit\(IO").KeepsEach(fields));
        Assert.Equal([false, false, false, true], FieldFilter.Create("kvm_pio").KeepsEach(fields));
        // A reason whose tracepoint is not in the set stands alone.
        var orphan = new KvmStat.Sources.FieldSet([FakeSource.Counter("kvm_exit(HLT)", "kvm_exit")]);
        Assert.Equal([true], FieldFilter.Create(@"kvm_exit\(HLT").KeepsEach(orphan));
    }

    [Fact]
    public void ByDefaultEveryFieldChildrenIncluded() =>
        Assert.Equal([.. s_items.Select(i => i.Name)], Select(FieldFilter.Default));

    [Fact]
    public void MatchesAtTheStartOfTheName()
    {
        Assert.Equal(["kvm_pio"], Select(FieldFilter.Create("kvm_p")));
        Assert.Empty(Select(FieldFilter.Create("pio")));
        Assert.Equal(["kvm_pio"], Select(FieldFilter.Create(".*pio")));
    }

    [Fact]
    public void ChildrenBringTheirParent()
    {
        Assert.Equal(["kvm_exit", "kvm_exit(HLT)"], Select(FieldFilter.Create(@"kvm_exit\(HLT")));
        Assert.Equal(
            ["kvm_userspace_exit", "kvm_userspace_exit(IO)"],
            Select(FieldFilter.Create("kvm_userspace")));
    }

    [Fact]
    public void AlternationIsAnchoredAsAWhole()
    {
        Assert.Equal(["kvm_pio", "kvm_mmio"], Select(FieldFilter.Create("kvm_pio|kvm_mmio")));
        // Every alternative at the start, as Python's re.match: "exit" is inside kvm_exit, not at its start.
        Assert.Equal(["kvm_pio"], Select(FieldFilter.Create("exit|kvm_pio")));
    }

    /// <summary>The pattern is taken as given: no parenthesis in it can close a group of the tool's.</summary>
    [Theory]
    [InlineData("zz)|(kvm_pio", "Too many )'s")]
    [InlineData("\\", "Illegal \\ at end of pattern")]
    public void APatternThatIsNoExpressionOnItsOwnIsRefusedForWhatItIs(string pattern, string reason)
    {
        Assert.False(FieldFilter.TryCreate(pattern, out _, out string? error));
        Assert.Equal(reason, error);
    }

    /// <summary>The reference's -f is a Python expression: what Python writes otherwise (named groups, references to them, {,n}) means the same here.</summary>
    [Theory]
    [InlineData("(?P<x>kvm_pio)", "(kvm_pio)")]
    [InlineData("(?P<n>kvm)_(?P=n)", "(kvm)_(?:\\1)")]
    [InlineData("(a)(?P<n>b)(?:c)(?P=n)", "(a)(b)(?:c)(?:\\2)")]
    [InlineData("(?P<1>x)", "(?P<1>x)")]
    [InlineData("(?P=nowhere)", "(?P=nowhere)")]
    [InlineData("kvm_p{,1}io", "kvm_p{0,1}io")]
    [InlineData("kvm_exit{,}", "kvm_exit{0,}")]
    [InlineData("kvm_p{,x}io", "kvm_p{,x}io")]
    [InlineData("[(?P<]x", "[(?P<]x")]
    [InlineData("[]{,1}]", "[]{,1}]")]
    [InlineData("[^]{,1}](?P<a>b)", "[^]{,1}](b)")]
    [InlineData("[[](?P<x>k)", "[[](k)")]
    [InlineData("[\\[](?P<x>k)", "[\\[](k)")]
    [InlineData("[[^](?P<x>k)", "[[^](k)")]
    [InlineData("\\(?P<", "\\(?P<")]
    public void PythonsWordsAreSaidInDotNets(string python, string dotnet) => Assert.Equal(dotnet, FieldFilter.FromPython(python));

    [Fact]
    public void PythonPatternsChooseTheFieldsTheyChooseInTheReference()
    {
        Assert.Equal(["kvm_pio"], Select(FieldFilter.Create("(?P<x>kvm_pio)")));
        Assert.Equal(["kvm_pio"], Select(FieldFilter.Create("kvm_p{,1}io")));
        Assert.Equal(["kvm_mmio"], Select(FieldFilter.Create("(?P<m>kvm_m)mio")));
        // Groups numbered as Python numbers them: \1 is the named group here.
        Assert.Equal(["kvm_mmio"], Select(FieldFilter.Create("kvm_(?P<a>m)(x)?\\1io")));
        Assert.Equal(["kvm_exit", "kvm_exit(HLT)", "kvm_exit(IO_INSTRUCTION)"], Select(FieldFilter.Create("kvm_exit{,}")));
    }

    [Fact]
    public void ABadExpressionIsAUsageErrorNamingIt()
    {
        UsageException e = Assert.Throws<UsageException>(() => FieldFilter.Create("("));
        Assert.StartsWith("\"(\" is not a valid regular expression", e.Message);
        // The reference checks the expression itself and ends with sys.exit: status 1.
        Assert.Equal(1, e.ExitCode);
    }

    /// <summary>A name's answer is kept (names repeat for every VM and vCPU at every record), for a bounded number of names.</summary>
    [Fact]
    public void AnswersAreKeptForABoundedNumberOfNames()
    {
        FieldFilter filter = FieldFilter.Create("exits|halt");
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < FieldFilter.MaxAnswers + 2000; i++)
                Assert.Equal(i % 2 == 0, filter.Matches(i % 2 == 0 ? $"exits{i}" : $"io_exits{i}"));
        }
        Assert.Equal(FieldFilter.MaxAnswers, filter.Remembered);
        Assert.Equal(0, FieldFilter.Default.Remembered);
    }

    /// <summary>Repetitions inside repetitions, which take the backtracking engine exponential time a name, are matched in linear time.</summary>
    [Theory]
    [InlineData(@"(\w|.|[a-z_])*Z")]
    [InlineData(@"((.|\w)*)*Z")]
    [InlineData(@"((\w|_)+\w?)+Z")]
    public void NestedRepetitionsAreMatchedWithoutBacktracking(string pattern)
    {
        FieldFilter filter = FieldFilter.Create($"{pattern}|{pattern[..^1]}\\(I");
        Assert.False(filter.Backtracks);
        Assert.Equal(["kvm_exit", "kvm_exit(IO_INSTRUCTION)", "kvm_userspace_exit", "kvm_userspace_exit(IO)"], Select(filter));
        Assert.Null(filter.TimedOutOn);
        Assert.Null(filter.TooSlow());
    }

    /// <summary>Both engines find the same leftmost start, all a match is asked for: each pattern chooses the same names.</summary>
    [Theory]
    [InlineData("kvm_(exit|pio)")]
    [InlineData("kvm_.*?io")]
    [InlineData("(kvm|kvm_e)xit")]
    [InlineData("a|kvm_m+io$")]
    [InlineData(@"^kvm_\w+\(")]
    [InlineData(@"\bkvm")]
    [InlineData(@"(?:kvm_)?(exit|userspace)")]
    [InlineData(@".*\)$")]
    [InlineData(@"[^_]+_[pm]")]
    [InlineData(@"kvm_e\B\w*")]
    [InlineData(@"kvm_pi\Bo*")]
    public void EitherEngineChoosesTheSameFields(string pattern)
    {
        FieldFilter filter = FieldFilter.Create(pattern);
        // \B before what can match nothing is where .NET's engines differ: it backtracks (as Python matches).
        Assert.Equal(pattern.Contains(@"\B", StringComparison.Ordinal), filter.Backtracks);
        var backtracking = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        foreach (Item item in s_items)
            Assert.True(backtracking.Match(item.Name) is { Success: true, Index: 0 } == filter.Matches(item.Name), $"{pattern} on {item.Name}");
    }

    /// <summary>
    /// Only back-references, look-arounds and their kind need the backtracking engine: the first
    /// name it takes a second on stops it (names after it are left out, not matched for a second
    /// each), and a run is refused with the cause.
    /// </summary>
    [Fact]
    public void ABacktrackingPatternStopsAtTheFirstNameItTakesASecondOn()
    {
        const string Slow = @"(?=k)(\w|.|[a-z_])*Z|kvm_p";
        Assert.True(FieldFilter.Create(Slow).Matches("kvm_pio"));
        FieldFilter filter = FieldFilter.Create(Slow);
        Assert.True(filter.Backtracks);
        Assert.DoesNotContain(Select(filter), name => name.Length > 20);
        Assert.Equal("kvm_exit(IO_INSTRUCTION)", filter.TimedOutOn);
        // kvm_pio, which it matches, came after: left out.
        Assert.False(filter.Matches("kvm_pio"));
        UsageException e = filter.TooSlow()!;
        Assert.Equal($"\"{Slow}\" took over a second to match the field \"kvm_exit(IO_INSTRUCTION)\", so what it selects is unknown.", e.Message);
        Assert.Equal(FieldFilter.SlowFix, e.Fix);
        Assert.Equal(2, e.ExitCode);
    }
}
