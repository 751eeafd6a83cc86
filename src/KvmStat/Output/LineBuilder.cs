using System.Globalization;
using System.Text;

namespace KvmStat.Output;

/// <summary>
/// Builds one output line in a reused UTF-8 buffer: printf-style padded fields and timestamps
/// without allocating, so a log interval costs no garbage.
/// </summary>
internal sealed class LineBuilder
{
    private byte[] _buffer = new byte[4096];
    private int _length;

    internal ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    internal int Length => _length;

    internal void Clear() => _length = 0;

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        return _buffer.AsSpan(_length);
    }

    internal LineBuilder Append(char c)
    {
        Reserve(4);
        if (c < 0x80)
        {
            _buffer[_length++] = (byte)c;
            return this;
        }
        return Append(c.ToString());
    }

    internal LineBuilder Append(string text)
    {
        Span<byte> span = Reserve(Encoding.UTF8.GetMaxByteCount(text.Length));
        _length += Encoding.UTF8.GetBytes(text, span);
        return this;
    }

    internal LineBuilder Append(ReadOnlySpan<byte> utf8)
    {
        utf8.CopyTo(Reserve(utf8.Length));
        _length += utf8.Length;
        return this;
    }

    internal LineBuilder Repeat(char c, int count)
    {
        for (int i = 0; i < count; i++)
            Append(c);
        return this;
    }

    /// <summary>printf "%-Ns": the text, then spaces up to <paramref name="width"/> characters.</summary>
    internal LineBuilder AppendLeft(string text, int width)
    {
        Append(text);
        return Repeat(' ', width - text.Length);
    }

    /// <summary>printf "%Nd": right-aligned in <paramref name="width"/> characters, never cut.</summary>
    internal LineBuilder AppendRight(long value, int width)
    {
        Span<byte> digits = stackalloc byte[24];
        value.TryFormat(digits, out int count, default, CultureInfo.InvariantCulture);
        Repeat(' ', width - count);
        return Append(digits[..count]);
    }

    internal LineBuilder Append(long value)
    {
        Span<byte> span = Reserve(24);
        value.TryFormat(span, out int count, default, CultureInfo.InvariantCulture);
        _length += count;
        return this;
    }

    /// <summary>printf "%N.1f".</summary>
    internal LineBuilder AppendRight(double value, int width, string format)
    {
        Span<byte> digits = stackalloc byte[64];
        if (!value.TryFormat(digits, out int count, format, CultureInfo.InvariantCulture))
            count = 0;
        Repeat(' ', width - count);
        return Append(digits[..count]);
    }

    /// <summary>The reference's log timestamp: "YYYY-MM-DD HH:MM:SS" in local time.</summary>
    internal LineBuilder AppendTimestamp(DateTimeOffset time)
    {
        Span<byte> span = Reserve(32);
        time.TryFormat(span, out int count, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        _length += count;
        return this;
    }

    internal LineBuilder NewLine() => Append('\n');
}
