using System.Globalization;

namespace KvmStat.Tui;

/// <summary>
/// The screen as a grid of characters with styles. Views draw into it; the terminal turns it
/// into escape sequences; tests read it back as text.
/// </summary>
internal sealed class ScreenGrid
{
    private char[] _chars = [];
    private TextStyle[] _styles = [];

    internal ScreenGrid(int rows, int columns) => Resize(rows, columns);

    internal int Rows { get; private set; }

    internal int Columns { get; private set; }

    internal void Resize(int rows, int columns)
    {
        Rows = Math.Max(rows, 0);
        Columns = Math.Max(columns, 0);
        if (_chars.Length < Rows * Columns)
        {
            _chars = new char[Rows * Columns];
            _styles = new TextStyle[Rows * Columns];
        }
        Clear();
    }

    internal void Clear()
    {
        _chars.AsSpan(0, Rows * Columns).Fill(' ');
        _styles.AsSpan(0, Rows * Columns).Clear();
    }

    internal TextStyle StyleAt(int row, int column) => _styles[row * Columns + column];

    internal ReadOnlySpan<char> RowChars(int row) => _chars.AsSpan(row * Columns, Columns);

    internal ReadOnlySpan<TextStyle> RowStyles(int row) => _styles.AsSpan(row * Columns, Columns);

    /// <summary>Writes text from (row, column), clipped at the edge; returns the column after it.</summary>
    internal int Write(int row, int column, ReadOnlySpan<char> text, TextStyle style = TextStyle.None)
    {
        if (row < 0 || row >= Rows)
            return column;
        foreach (char c in text)
        {
            if (column >= Columns)
                break;
            if (column >= 0)
            {
                _chars[row * Columns + column] = c;
                _styles[row * Columns + column] = style;
            }
            column++;
        }
        return column;
    }

    /// <summary>Text padded with spaces to <paramref name="width"/> (printf "%-Ns"; longer text is not cut).</summary>
    internal int WriteLeft(int row, int column, ReadOnlySpan<char> text, int width, TextStyle style = TextStyle.None)
    {
        int end = Write(row, column, text, style);
        return Fill(row, end, width - text.Length, ' ', style);
    }

    internal int Fill(int row, int column, int count, char c, TextStyle style = TextStyle.None)
    {
        for (int i = 0; i < count; i++)
            column = Write(row, column, new ReadOnlySpan<char>(in c), style);
        return column;
    }

    /// <summary>printf "%Nd" without allocating.</summary>
    internal int WriteRight(int row, int column, long value, int width, TextStyle style = TextStyle.None)
    {
        Span<char> digits = stackalloc char[24];
        value.TryFormat(digits, out int count, default, CultureInfo.InvariantCulture);
        column = Fill(row, column, width - count, ' ', style);
        return Write(row, column, digits[..count], style);
    }

    /// <summary>printf "%N.1f" without allocating.</summary>
    internal int WriteRight(int row, int column, double value, int width, string format, TextStyle style = TextStyle.None)
    {
        Span<char> digits = stackalloc char[48];
        if (!value.TryFormat(digits, out int count, format, CultureInfo.InvariantCulture))
            count = 0;
        column = Fill(row, column, width - count, ' ', style);
        return Write(row, column, digits[..count], style);
    }

    /// <summary>Applies a style to a stretch of cells (a highlighted row).</summary>
    internal void Style(int row, int column, int count, TextStyle style)
    {
        if (row < 0 || row >= Rows)
            return;
        for (int c = Math.Max(column, 0); c < Math.Min(column + count, Columns); c++)
            _styles[row * Columns + c] |= style;
    }

    /// <summary>One row as text without trailing spaces (for tests and diagnostics).</summary>
    internal string RowText(int row) => new string(RowChars(row)).TrimEnd();

    internal string[] Lines()
    {
        string[] lines = new string[Rows];
        for (int r = 0; r < Rows; r++)
            lines[r] = RowText(r);
        return lines;
    }
}
