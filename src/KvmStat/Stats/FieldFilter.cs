using System.Text.RegularExpressions;
using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// The -f regular expression, matched at the start of each field name (like Python's re.match).
/// Without -f every field matches, children included, as in the reference (the screen hides
/// children until 'x'); a selected child always brings its parent along, so kvm_exit(HLT) is
/// never shown without kvm_exit.
/// </summary>
internal sealed class FieldFilter : IFieldSelection
{
    private readonly Regex _regex;

    private FieldFilter(string? userPattern, Regex regex)
    {
        UserPattern = userPattern;
        _regex = regex;
    }

    /// <summary>No -f: every field (the reference's empty default).</summary>
    internal static FieldFilter Default { get; } = new(null, Compile(""));

    /// <summary>The -f text, or null when none was given.</summary>
    internal string? UserPattern { get; }

    public string Pattern => UserPattern ?? "";

    internal bool IsDefault => UserPattern is null;

    /// <summary>Parses a -f value; a bad expression is a usage error in the reference's words.</summary>
    internal static FieldFilter Create(string? pattern)
    {
        if (pattern is null)
            return Default;
        return TryCreate(pattern, out FieldFilter? filter, out string? error)
            ? filter
            : throw UsageException.Checked($"\"{Text.EscapeControls(pattern)}\" is not a valid regular expression: {error}", RegexFix);
    }

    /// <summary>What to do about a pattern that is no regular expression.</summary>
    internal const string RegexFix = "Fields are chosen by a regular expression (kvm_stat -f help lists them): a backslash makes ( ) [ ] * + ? . stand for themselves.";

    internal static bool TryCreate(string pattern, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FieldFilter? filter, out string? error)
    {
        try
        {
            filter = new FieldFilter(pattern, Compile(pattern));
            error = null;
            return true;
        }
        catch (ArgumentException e)
        {
            filter = null;
            error = e is RegexParseException parse ? Describe(parse) : e.Message;
            return false;
        }
    }

    private static string Describe(RegexParseException e)
    {
        string message = e.Message;
        // "Invalid pattern '(' at offset 1. Not enough )'s." → the part after the position.
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return (dot >= 0 ? message[(dot + 2)..] : message).TrimEnd('.');
    }

    // The pattern is compiled as it was given (in .NET's words for what Python writes otherwise),
    // never spliced into another: "zz)|(exits" would otherwise close a wrapping group and match in
    // the middle of names, and "\\" be blamed on a missing parenthesis.
    // A pattern .NET can match without backtracking is matched in time linear in the name, whatever
    // it nests ("(.*.*)*Z" would otherwise take seconds a name); back-references, look-arounds,
    // atomic groups, conditionals and patterns too large for it need the backtracking engine, held
    // to MatchTimeout a name. Both find the same leftmost start, all Matches asks of a match, but
    // for \B before what can match nothing ("kvm_e\B\w*" would miss kvm_exit, which Python's
    // re.match takes): a pattern with \B is matched by backtracking too.
    private static Regex Compile(string pattern)
    {
        string translated = FromPython(pattern);
        if (!translated.Contains(@"\B", StringComparison.Ordinal))
        {
            try
            {
                return new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout);
            }
            catch (NotSupportedException)
            {
                // A construct only backtracking matches: compiled for it below.
            }
        }
        return new Regex(translated, RegexOptions.CultureInvariant, MatchTimeout);
    }

    private static TimeSpan MatchTimeout => TimeSpan.FromSeconds(1);

    /// <summary>Whether the pattern is matched by the backtracking engine (for tests).</summary>
    internal bool Backtracks => (_regex.Options & RegexOptions.NonBacktracking) == 0;

    /// <summary>
    /// The reference's patterns are Python's: what Python writes otherwise is said in .NET's words,
    /// outside character classes and escapes. A named group (?P&lt;name&gt;...) is a plain group, so
    /// that groups are numbered left to right as Python numbers them (.NET numbers named ones after
    /// the rest: \1 would be another group), and a reference to one (?P=name) is that number; a
    /// repetition from none {,n} or {,} is {0,n} or {0,}.
    /// </summary>
    internal static string FromPython(string pattern)
    {
        var result = new System.Text.StringBuilder(pattern.Length);
        var groups = new Dictionary<string, int>(StringComparer.Ordinal);
        int captured = 0, firstMember = -1;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            ReadOnlySpan<char> rest = pattern.AsSpan(i);
            if (c == '\\' && i + 1 < pattern.Length)
            {
                result.Append(c).Append(pattern[++i]);
                continue;
            }
            if (firstMember >= 0)
            {
                // A ] first in a class ([]a] or [^]a]) is one of its characters, in both languages; any other ends it.
                if (c == ']' && i != firstMember)
                    firstMember = -1;
                result.Append(c);
                continue;
            }
            if (c == '[')
            {
                firstMember = i + 1 < pattern.Length && pattern[i + 1] == '^' ? i + 2 : i + 1;
                result.Append(c);
                if (firstMember == i + 2)
                    result.Append(pattern[++i]);
                continue;
            }
            if (rest.StartsWith("(?P<") && rest.IndexOf('>') is int named and > 4 && IsName(rest[4..named]))
            {
                groups[rest[4..named].ToString()] = ++captured;
                result.Append('(');
                i += named;
            }
            else if (rest.StartsWith("(?P=") && rest.IndexOf(')') is int close and > 4 && groups.TryGetValue(rest[4..close].ToString(), out int group))
            {
                result.Append("(?:\\").Append(group.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(')');
                i += close;
            }
            else if (c == '{' && rest.Length > 2 && rest[1] == ',' && rest[2..].IndexOf('}') is int end and >= 0
                && (end == 0 || int.TryParse(rest[2..(2 + end)], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
                result.Append("{0");
            else
            {
                // Every other ( that is no (?...) is a group Python numbers too.
                if (c == '(' && (rest.Length < 2 || rest[1] != '?'))
                    captured++;
                result.Append(c);
            }
        }
        return result.ToString();
    }

    /// <summary>A Python group name: a letter or _ first, then letters, digits or _.</summary>
    private static bool IsName(ReadOnlySpan<char> name) =>
        name.Length > 0 && (char.IsLetter(name[0]) || name[0] == '_') && !name.ContainsAnyExcept(s_nameCharacters);

    private static readonly System.Buffers.SearchValues<char> s_nameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    // What the pattern said of each name (statistic names repeat for every VM and vCPU at every
    // record): at most MaxAnswers names, which hostile peers cannot grow without bound.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _answers = new(StringComparer.Ordinal);
    private int _answerCount;
    internal const int MaxAnswers = 8192;

    /// <summary>Names whose answer is kept (for tests of what stays bounded).</summary>
    internal int Remembered => Volatile.Read(ref _answerCount);

    /// <summary>Whether each of <paramref name="fields"/> matches, by index: decided once for a field set.</summary>
    internal bool[] MatchesEach(IReadOnlyList<StatField> fields) => [.. fields.Select(f => Matches(f.Name))];

    /// <summary>
    /// Which of a guest's fields --guest-fields keeps, by index, the one answer of every output: a
    /// field whose name matches, the reasons of a tracepoint that matches, and the tracepoint of a
    /// reason that matches (a reason is written under it, and counts its events).
    /// </summary>
    internal bool[] KeepsEach(FieldSet fields)
    {
        bool[] matches = MatchesEach(fields.All);
        bool[] kept = new bool[matches.Length];
        for (int i = 0; i < kept.Length; i++)
            kept[i] = matches[i] || (fields.IsChild(i) && matches[fields.ParentOf(i)]);
        for (int i = 0; i < kept.Length; i++)
        {
            if (kept[i] && fields.IsChild(i))
                kept[fields.ParentOf(i)] = true;
        }
        return kept;
    }

    internal bool Matches(string name)
    {
        if (IsDefault)
            return true;
        if (_answers.TryGetValue(name, out bool known))
            return known;
        bool matches = Match(name);
        if (Volatile.Read(ref _answerCount) < MaxAnswers && _answers.TryAdd(name, matches))
            Interlocked.Increment(ref _answerCount);
        return matches;
    }

    /// <summary>
    /// The first name the pattern took over a second to match, or null: after it, names not yet
    /// answered are not matched (each would stall the run a second more) and are left out.
    /// </summary>
    internal string? TimedOutOn => Volatile.Read(ref _timedOutOn);

    private string? _timedOutOn;

    /// <summary>
    /// A run cannot start on a selection the pattern could not finish: the error that says so,
    /// or null when every name was matched.
    /// </summary>
    /// <param name="option">The option that gave the pattern, named before it (-f's is not named: it is the tool's first filter).</param>
    internal UsageException? TooSlow(string? option = null) => TimedOutOn is string name
        ? new UsageException($"{(option is null ? "" : option + " ")}\"{Text.EscapeControls(Pattern)}\" took over a second to match the field \"{Text.EscapeControls(name)}\", so what it selects is unknown.", SlowFix)
        : null;

    /// <summary>What to do about a pattern too slow to match.</summary>
    internal const string SlowFix = "Write it without back-references, look-arounds, (?>...) groups and \\B, which kvm_stat matches by backtracking, or without repetitions inside repetitions.";

    /// <summary>
    /// Told once, when a name first takes the second (<see cref="TooSlow"/> says which), where a
    /// run under way set it: the names met from then on (a new VM's binary statistics) are left
    /// out, which must not happen in silence. Unset, a run about to start refuses the pattern.
    /// </summary>
    internal Action? TimedOutLater { get; set; }

    private bool Match(string name)
    {
        if (TimedOutOn is not null)
            return false;
        try
        {
            // A match at the start, as Python's re.match: the leftmost match starts there if any does.
            foreach (ValueMatch match in _regex.EnumerateMatches(name))
                return match.Index == 0;
            return false;
        }
        catch (RegexMatchTimeoutException)
        {
            // Names come from outside too (a VM's binary statistics): one that makes the pattern run
            // for a second is left out rather than stopping a run under way, as a name it does not
            // match is; a run about to start says so instead (TooSlow).
            if (Interlocked.CompareExchange(ref _timedOutOn, name, null) is null)
                TimedOutLater?.Invoke();
            return false;
        }
    }

    /// <summary>The items whose names match, plus the parents of matching children, in their original order.</summary>
    public List<T> Select<T>(IEnumerable<T> available, Func<T, string> name, Func<T, string?> parent)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        List<T> all = [.. available];
        foreach (T item in all)
        {
            if (!Matches(name(item)))
                continue;
            wanted.Add(name(item));
            if (parent(item) is string p)
                wanted.Add(p);
        }
        return all.FindAll(item => wanted.Contains(name(item)));
    }
}
