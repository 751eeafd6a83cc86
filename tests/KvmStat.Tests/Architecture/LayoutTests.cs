using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using KvmStat.Host;

namespace KvmStat.Tests.Architecture;

/// <summary>
/// The layout rules of docs/ARCHITECTURE.md, checked: a type per file named after it, folders that
/// are namespaces, and dependencies between folders in one direction only.
/// </summary>
public partial class LayoutTests
{
    private static readonly string Source = Path.Join(Repository.Root, "src", "KvmStat");

    /// <summary>
    /// The folders from the bottom up: each may use those before it, never one after it. Interop
    /// (the class Interop in the root namespace) and the root namespace are the base of all.
    /// </summary>
    internal static readonly string[] Layers =
        ["KvmStat", "KvmStat.Host", "KvmStat.Guests", "KvmStat.Sources", "KvmStat.Stats", "KvmStat.Output", "KvmStat.Exporter", "KvmStat.Tui", "KvmStat.Cli"];

    private static IEnumerable<Type> OwnTypes() =>
        typeof(KvmStat.Host.HostPaths).Assembly.GetTypes().Where(t =>
            !t.IsNested && t.Namespace is string ns && (ns == "KvmStat" || ns.StartsWith("KvmStat.", StringComparison.Ordinal)) &&
            !t.Name.Contains('<') && t.GetCustomAttribute<CompilerGeneratedAttribute>() is null);

    /// <summary>
    /// No source file over 300 lines, and no method over 60 without a "// Long:" comment above it
    /// saying why. Methods are found by their braces at any indentation (a nested type's, a local function).
    /// </summary>
    [Fact]
    public void FilesAndMethodsStayShort()
    {
        var found = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories))
        {
            string[] lines = File.ReadAllLines(file);
            string name = Path.GetRelativePath(Source, file);
            if (lines.Length > 300)
                found.Add($"{name}: {lines.Length} lines");
            foreach (string indent in Enumerable.Range(1, 6).Select(depth => new string(' ', 4 * depth)))
            {
                int open = -1;
                int signature = -1;
                for (int i = 1; i < lines.Length; i++)
                {
                    // A signature may go over several lines, each after the first indented deeper.
                    int start = i - 1;
                    while (start > 0 && lines[start].StartsWith(indent + " ", StringComparison.Ordinal))
                        start--;
                    string header = string.Join(' ', lines[start..i]);
                    if (lines[i] == indent + "{" && lines[start].StartsWith(indent, StringComparison.Ordinal) && header.Contains('(')
                        && !new[] { " class ", " struct ", " record ", " interface " }.Any(k => header.Contains(k, StringComparison.Ordinal)))
                        (open, signature) = (i, start);
                    else if (lines[i] == indent + "}" && open > 0)
                    {
                        int length = i - signature + 1;
                        int above = signature - 1;
                        while (above >= 0 && lines[above].TrimStart().StartsWith("//", StringComparison.Ordinal) && !lines[above].Contains("// Long:", StringComparison.Ordinal))
                            above--;
                        if (length > 60 && !(above >= 0 && lines[above].Contains("// Long:", StringComparison.Ordinal)))
                            found.Add($"{name}:{signature + 1}: {lines[signature].Trim()} ({length} lines)");
                        open = -1;
                    }
                }
            }
        }
        Assert.True(found.Count == 0, "too long:\n" + string.Join('\n', found.Order()));
    }

    [Fact]
    public void EveryTypeIsInAFileNamedAfterItInTheFolderOfItsNamespace()
    {
        var misplaced = new List<string>();
        foreach (Type type in OwnTypes())
        {
            string name = type.Name.Split('`')[0];
            string folder = Path.Join(Source, Path.Join(type.Namespace!.Split('.').Skip(1).ToArray()));
            bool found = new[] { folder, Path.Join(folder, name) }.Any(dir =>
                File.Exists(Path.Join(dir, name + ".cs")) ||
                (Directory.Exists(dir) && Directory.EnumerateFiles(dir, name + ".*.cs").Any()));
            if (!found)
                misplaced.Add($"{type.FullName} (expected {Path.GetRelativePath(Source, Path.Join(folder, name + ".cs"))})");
        }
        Assert.True(misplaced.Count == 0, "types not in a file of their own name:\n" + string.Join('\n', misplaced.Order()));
    }

    [Fact]
    public void EveryFileDeclaresTheNamespaceOfItsFolder()
    {
        var wrong = new List<string>();
        foreach (string file in SourceFiles())
        {
            string relative = Path.GetRelativePath(Source, Path.GetDirectoryName(file)!);
            string expected = relative == "." ? "KvmStat" : "KvmStat." + relative.Replace('/', '.');
            if (expected == "KvmStat.Interop")
                expected = "KvmStat"; // the partial class Interop, one file per native call
            Match declared = NamespaceDeclaration().Match(File.ReadAllText(file));
            if (Path.GetFileName(file) == "Program.cs" && !declared.Success)
                continue;
            if (!declared.Success || declared.Groups[1].Value != expected)
                wrong.Add($"{Path.GetRelativePath(Source, file)}: {(declared.Success ? declared.Groups[1].Value : "no namespace")}, expected {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    /// <summary>Interop/ as dotnet/runtime keeps it: a native call a file, named after the call (syscall(2) aside).</summary>
    [Fact]
    public void EachInteropFileImportsOneNativeCallNamedLikeIt()
    {
        var wrong = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Path.Join(Source, "Interop"), "*.cs"))
        {
            string[] entries = [.. LibraryImportEntry().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value)];
            string name = Path.GetFileNameWithoutExtension(file)["Interop.".Length..].ToLowerInvariant();
            if (entries.Length > 1)
                wrong.Add($"{Path.GetFileName(file)} imports {string.Join(", ", entries)}");
            else if (entries is [string entry] && entry != "syscall" && !entry.Replace("_", "", StringComparison.Ordinal).StartsWith(name, StringComparison.Ordinal))
                wrong.Add($"{Path.GetFileName(file)} imports {entry}");
        }
        Assert.True(wrong.Count == 0, "one native call a file, named after it:\n" + string.Join('\n', wrong));
    }

    [GeneratedRegex(@"\[LibraryImport\([^)]*EntryPoint = ""(\w+)""")]
    private static partial Regex LibraryImportEntry();

    /// <summary>
    /// One clock: everything that reads or waits for time takes the run's TimeProvider, which only
    /// Program creates (the manual page's date is a build's, not a run's).
    /// </summary>
    [Fact]
    public void OnlyProgramMakesTheClock()
    {
        string[] offenders = [.. SourceFiles()
            .Where(f => Path.GetFileName(f) is not ("Program.cs" or "ManPage.cs"))
            .Where(f => OtherClock().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(Source, f))];
        Assert.True(offenders.Length == 0, "these read or wait for time without the run's TimeProvider: " + string.Join(", ", offenders));
    }

    [GeneratedRegex(@"\b(DateTime(Offset)?\.(UtcNow|Now)|Thread\.Sleep|Stopwatch|Environment\.TickCount|TimeProvider\.System)\b")]
    private static partial Regex OtherClock();

    /// <summary>
    /// One list of running VMs per run: only the run's composition (SourceFactory) and --doctor
    /// make a VmDiscovery; every reader that looks for VMs is handed it.
    /// </summary>
    [Fact]
    public void OnlyARunAndTheDoctorListVms()
    {
        string[] makers = [.. SourceFiles()
            .Where(f => File.ReadAllText(f).Contains("new VmDiscovery(", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Source, f))
            .Order(StringComparer.Ordinal)];
        Assert.Equal([Path.Join("Cli", "Doctor.Vms.cs"), Path.Join("Cli", "SourceFactory.cs")], makers);
    }

    /// <summary>The two engines are two ways of reading side by side: what both need (the owner of perf event descriptors, the open-file limit) is in Sources/, never in the other's folder.</summary>
    [Fact]
    public void TheEnginesDoNotUseEachOther()
    {
        string[] offenders = [.. new[] { ("Bpf", "Perf"), ("Perf", "Bpf") }
            .SelectMany(pair => Directory.EnumerateFiles(Path.Join(Source, "Sources", pair.Item1), "*.cs")
                .Where(f => Regex.IsMatch(Code(File.ReadAllText(f)), $@"(\bKvmStat\.Sources\.|(?<![.\w])(Sources\.)?){pair.Item2}\.[A-Z]|\bKvmStat\.Sources\.{pair.Item2}\b"))
                .Select(f => $"{Path.GetRelativePath(Source, f)} uses Sources.{pair.Item2}"))];
        Assert.True(offenders.Length == 0, string.Join('\n', offenders));
    }

    [Fact]
    public void FoldersDependOnlyOnTheLayersBelowThem()
    {
        var violations = new List<string>();
        foreach (string file in SourceFiles())
        {
            string text = File.ReadAllText(file);
            Match declared = NamespaceDeclaration().Match(text);
            if (!declared.Success)
                continue;
            int own = LayerOf(declared.Groups[1].Value);
            string code = Code(text);
            // Written out (KvmStat.Stats), or relative to the file's own namespace (Stats.FieldFilter).
            IEnumerable<string> used = UsedNamespace().Matches(code).Select(m => m.Groups[1].Value)
                .Concat(RelativeNamespace().Matches(code).Select(m => "KvmStat." + m.Groups[1].Value));
            foreach (string name in used)
            {
                if (LayerOf(name) > own)
                    violations.Add($"{Path.GetRelativePath(Source, file)} ({Layers[own]}) uses {name}");
            }
        }
        Assert.True(violations.Count == 0, "dependencies against the layers:\n" + string.Join('\n', violations.Distinct()));
    }

    /// <summary>Folders of the tests that hold what the tests use, not tests of a part of src/.</summary>
    private static readonly string[] s_testHelperFolders = ["Architecture", "Infrastructure", "TestGuest", "TestRunner"];

    private static readonly string Tests = Path.Join(Repository.Root, "tests", "KvmStat.Tests");

    [Fact]
    public void TheTestsOfAFileAreInTheFolderOfThatFile()
    {
        var misplaced = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Tests, "*Tests.cs", SearchOption.AllDirectories))
        {
            string folder = Path.GetRelativePath(Tests, Path.GetDirectoryName(file)!);
            if (folder.StartsWith("obj", StringComparison.Ordinal) || folder.StartsWith("bin", StringComparison.Ordinal) ||
                s_testHelperFolders.Contains(folder.Split('/')[0]))
                continue;
            if (folder != "." && !Directory.Exists(Path.Join(Source, folder)))
                misplaced.Add($"{Path.GetRelativePath(Tests, file)}: src/KvmStat has no folder {folder}");
        }
        Assert.True(misplaced.Count == 0, string.Join('\n', misplaced));
    }

    /// <summary>The mutation-testing build leaves out *EndToEndTests.cs: the published binary holds no mutant.</summary>
    [Fact]
    public void OnlyEndToEndTestsRunThePublishedBinary()
    {
        string[] offenders = [.. Directory.EnumerateFiles(Tests, "*Tests.cs", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("EndToEndTests.cs", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal) && !f.EndsWith("LayoutTests.cs", StringComparison.Ordinal))
            .Where(f => UsesThePublishedBinary().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(Tests, f))];
        Assert.True(offenders.Length == 0, "these run the published binary but are not named *EndToEndTests.cs: " + string.Join(", ", offenders));
    }

    [GeneratedRegex(@"\b(PublishedBinary|StartTool|RunTool|GuestVm|QemuVm|TmuxPane)\b")]
    private static partial Regex UsesThePublishedBinary();

    private static int LayerOf(string ns)
    {
        for (int i = Layers.Length - 1; i >= 0; i--)
        {
            if (ns == Layers[i] || ns.StartsWith(Layers[i] + ".", StringComparison.Ordinal))
                return i;
        }
        return 0;
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    /// <summary>The folder of "using KvmStat.X...;" and of qualified names "KvmStat.X.Type" in code.</summary>
    [GeneratedRegex(@"\b(KvmStat\.(?:Host|Guests|Sources|Stats|Output|Exporter|Tui|Cli))\b")]
    private static partial Regex UsedNamespace();

    /// <summary>A layer named relative to an enclosing namespace: Stats.FieldFilter within KvmStat.Sources.Bpf (not a member: x.Stats.Y).</summary>
    [GeneratedRegex(@"(?<![.\w])(Host|Guests|Sources|Stats|Output|Exporter|Tui|Cli)\.(?=[A-Z])")]
    private static partial Regex RelativeNamespace();

    /// <summary>The code of a file without its comments and string literals, where names are only words.</summary>
    private static string Code(string text) => CommentOrString().Replace(text, " ");

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""", RegexOptions.Singleline)]
    private static partial Regex CommentOrString();
}
