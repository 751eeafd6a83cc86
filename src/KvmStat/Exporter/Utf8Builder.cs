using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// A growable UTF-8 text buffer, kept from one use to the next: an exposition of a dense host
/// (tens of megabytes) goes out as the bytes it was written in, never a string twice its size.
/// </summary>
internal sealed class Utf8Builder(int capacity)
{
    private byte[] _bytes = new byte[capacity];
    private int _length;
    // After a Detach: what the last text took, with an eighth more (a buffer given back is measured against it).
    private int _lastRoom = capacity;

    internal ReadOnlyMemory<byte> Written => _bytes.AsMemory(0, _length);

    internal void Clear() => _length = 0;

    internal Utf8Builder Append(char c)
    {
        if (c < 0x80)
        {
            Reserve(1);
            _bytes[_length++] = (byte)c;
            return this;
        }
        return Append(new ReadOnlySpan<char>(in c));
    }

    internal Utf8Builder Append(string text) => Append(text.AsSpan());

    /// <summary>Appends text as UTF-8 (a lone surrogate becomes U+FFFD).</summary>
    internal Utf8Builder Append(ReadOnlySpan<char> text)
    {
        Reserve(Encoding.UTF8.GetMaxByteCount(text.Length));
        _length += Encoding.UTF8.GetBytes(text, _bytes.AsSpan(_length));
        return this;
    }

    /// <summary>Appends a whole number in decimal, without a string of it.</summary>
    internal Utf8Builder Append(long value)
    {
        Reserve(20);
        System.Buffers.Text.Utf8Formatter.TryFormat(value, _bytes.AsSpan(_length), out int written);
        _length += written;
        return this;
    }

    /// <summary>
    /// Hands over what was written with its buffer, no copy: the builder starts another at its next
    /// use (<see cref="EnsureCapacity"/>, or one given back: <see cref="Reuse"/>). A dense host's
    /// exposition (tens of megabytes) is then held once, by whoever sends it, not also kept here.
    /// </summary>
    internal ArraySegment<byte> Detach()
    {
        var written = new ArraySegment<byte>(_bytes, 0, _length);
        _lastRoom = Math.Max(_length + _length / 8, 1024);
        _bytes = [];
        _length = 0;
        return written;
    }

    /// <summary>
    /// A buffer given back by whoever held a <see cref="Detach"/>ed text and no longer reads it: the
    /// next text is written into it. Kept only while the builder holds none as large, and only
    /// while it is at most eight times what the last text needed (a writer reserves room for its
    /// longest lines, several times what short ones take): a host whose exposition shrank (its VMs
    /// gone) does not keep one of tens of megabytes for good.
    /// </summary>
    internal void Reuse(byte[] buffer)
    {
        if (_length == 0 && buffer.Length > _bytes.Length && buffer.Length <= 8L * _lastRoom)
            _bytes = buffer;
    }

    public override string ToString() => Encoding.UTF8.GetString(_bytes, 0, _length);

    /// <summary>
    /// Makes room for a text of about <paramref name="size"/> bytes before it is written: where the
    /// buffer held has less than an eighth more, one of a quarter more (texts that grow a little
    /// at each use do not make a new buffer each time), not twice the one held.
    /// </summary>
    internal void EnsureCapacity(long size)
    {
        if (_length == 0 && _bytes.Length < size + size / 8 + 4096)
            _bytes = new byte[Math.Min(size + size / 4 + 4096, Array.MaxLength)];
    }

    /// <summary>Makes room for <paramref name="more"/> bytes beyond those written.</summary>
    internal void Reserve(int more)
    {
        if (_length + more <= _bytes.Length)
            return;
        Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + more));
    }
}
