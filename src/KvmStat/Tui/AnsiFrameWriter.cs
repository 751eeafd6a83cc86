using System.Text;

namespace KvmStat.Tui;

/// <summary>
/// Turns a <see cref="ScreenGrid"/> into the bytes that draw it: only rows that changed since the
/// last frame are sent, each written over in full (no erase, so no flicker), all in one buffer
/// that goes to the terminal with one write().
/// </summary>
internal sealed class AnsiFrameWriter
{
    private byte[] _buffer = new byte[16384];
    private int _length;
    private char[] _previousChars = [];
    private TextStyle[] _previousStyles = [];
    private int _previousRows = -1;
    private int _previousColumns = -1;

    /// <summary>The next frame redraws every row (after a resize, or a return from suspension).</summary>
    internal void Invalidate() => _previousRows = -1;

    internal ReadOnlySpan<byte> Render(ScreenGrid grid)
    {
        _length = 0;
        bool full = grid.Rows != _previousRows || grid.Columns != _previousColumns;
        if (full)
        {
            Append("\x1b[0m\x1b[H\x1b[2J");
            int cells = grid.Rows * grid.Columns;
            if (_previousChars.Length < cells)
            {
                _previousChars = new char[cells];
                _previousStyles = new TextStyle[cells];
            }
        }

        for (int row = 0; row < grid.Rows; row++)
        {
            ReadOnlySpan<char> chars = grid.RowChars(row);
            ReadOnlySpan<TextStyle> styles = grid.RowStyles(row);
            Span<char> oldChars = _previousChars.AsSpan(row * grid.Columns, grid.Columns);
            Span<TextStyle> oldStyles = _previousStyles.AsSpan(row * grid.Columns, grid.Columns);
            if (!full && chars.SequenceEqual(oldChars) && styles.SequenceEqual(oldStyles))
                continue;
            // The bottom-right cell is left alone: writing it makes some terminals scroll.
            WriteRow(row, chars, styles, row == grid.Rows - 1 ? grid.Columns - 1 : grid.Columns);
            chars.CopyTo(oldChars);
            styles.CopyTo(oldStyles);
        }
        _previousRows = grid.Rows;
        _previousColumns = grid.Columns;
        return _buffer.AsSpan(0, _length);
    }

    private void WriteRow(int row, ReadOnlySpan<char> chars, ReadOnlySpan<TextStyle> styles, int columns)
    {
        Append("\x1b[");
        AppendNumber(row + 1);
        Append(";1H");
        TextStyle current = TextStyle.None;
        for (int column = 0; column < columns; column++)
        {
            if (styles[column] != current)
            {
                current = styles[column];
                AppendStyle(current);
            }
            AppendChar(chars[column]);
        }
        if (current != TextStyle.None)
            Append("\x1b[0m");
    }

    private void AppendStyle(TextStyle style)
    {
        Append("\x1b[0");
        if ((style & TextStyle.Bold) != 0)
            Append(";1");
        if ((style & TextStyle.Underline) != 0)
            Append(";4");
        if ((style & TextStyle.Reverse) != 0)
            Append(";7");
        Append("m");
    }

    private void Ensure(int count)
    {
        if (_length + count > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
    }

    private void Append(string ascii)
    {
        Ensure(ascii.Length);
        foreach (char c in ascii)
            _buffer[_length++] = (byte)c;
    }

    private void AppendChar(char c)
    {
        Ensure(4);
        if (c < 0x80)
        {
            _buffer[_length++] = (byte)c;
            return;
        }
        // Surrogates and other non-BMP halves cannot be encoded alone: show a replacement.
        if (char.IsSurrogate(c))
            c = '?';
        _length += Encoding.UTF8.GetBytes(new ReadOnlySpan<char>(in c), _buffer.AsSpan(_length));
    }

    private void AppendNumber(int value)
    {
        Span<char> digits = stackalloc char[12];
        value.TryFormat(digits, out int count, default, System.Globalization.CultureInfo.InvariantCulture);
        Ensure(count);
        foreach (char c in digits[..count])
            _buffer[_length++] = (byte)c;
    }
}
