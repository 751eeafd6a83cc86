using System.Globalization;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>The head of the screen's tables: the title, the regex line, the column names; made without allocating.</summary>
internal sealed partial class TuiApp
{
    private readonly char[] _title = new char[128];

    /// <summary>
    /// "WHAT - pid N (name)", the name escaped and cut, or "WHAT - summary"; formatted into a buffer
    /// kept for it, so that a draw allocates nothing.
    /// </summary>
    private ReadOnlySpan<char> Title(string what)
    {
        Span<char> title = _title;
        int written;
        bool fits;
        if (_pid <= 0)
        {
            fits = title.TryWrite(CultureInfo.InvariantCulture, $"{what} - summary", out written);
        }
        else
        {
            string name = Text.Escape(_guestName ?? "");
            ReadOnlySpan<char> shown = name.Length > MaxGuestNameLength ? name.AsSpan(0, MaxGuestNameLength) : name;
            string cut = name.Length > MaxGuestNameLength ? "..." : "";
            fits = name.Length > 0
                ? title.TryWrite(CultureInfo.InvariantCulture, $"{what} - pid {Digits(_pid)} ({shown}{cut})", out written)
                : title.TryWrite(CultureInfo.InvariantCulture, $"{what} - pid {Digits(_pid)}", out written);
        }
        return title[..(fits ? written : 0)];
    }

    private const string DeadMarker = "   Guest is DEAD   ";

    /// <summary>The reference's marker of a watched VM that exited: right after the title, within 80 columns, highlighted.</summary>
    private static void DrawDead(ScreenGrid grid, int titleEnd) =>
        grid.Write(0, Math.Min(titleEnd, 80 - DeadMarker.Length), DeadMarker, TextStyle.Reverse | TextStyle.Bold);

    private void DrawHeader(ScreenGrid grid, ReadOnlySpan<char> title, string firstColumn)
    {
        int end = grid.Write(0, 0, title, TextStyle.Bold);
        if (_guestDead && _view == View.Main)
            DrawDead(grid, end);
        if (!_filter.IsDefault)
            grid.Write(1, 17, RegexLine());
        int column = grid.WriteLeft(2, TableColumn, firstColumn, LabelWidth, TextStyle.Reverse);
        column = grid.Write(2, column, " ", TextStyle.Reverse);
        column = grid.WriteLeft(2, column, "", 10 - "Total".Length, TextStyle.Reverse);
        column = grid.Write(2, column, "Total", TextStyle.Reverse);
        column = grid.Write(2, column, " %Total", TextStyle.Reverse);
        grid.Write(2, column, " CurAvg/s", TextStyle.Reverse);
    }

    private FieldFilter? _regexLineFor;
    private string _regexLine = "";

    /// <summary>"regex filter: RE", the regex made safe and cut; made when the filter changes, so that a draw allocates nothing.</summary>
    private string RegexLine()
    {
        if (ReferenceEquals(_regexLineFor, _filter))
            return _regexLine;
        string regex = Text.EscapeControls(_filter.Pattern);
        if (regex.Length > MaxRegexLength)
            regex = regex[..MaxRegexLength] + "...";
        (_regexLineFor, _regexLine) = (_filter, "regex filter: " + regex);
        return _regexLine;
    }
}
