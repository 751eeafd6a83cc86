using System.Collections.Concurrent;

namespace KvmStat.Tui;

/// <summary>
/// Reads key presses on a thread of its own, so the screen answers a key at once instead of at
/// its next refresh; each key wakes the screen's loop.
/// </summary>
internal sealed class KeyboardReader
{
    private readonly ConcurrentQueue<Key> _keys = new();
    private readonly Action _wake;

    internal KeyboardReader(Action wake)
    {
        _wake = wake;
        new Thread(ReadLoop) { IsBackground = true, Name = "keyboard" }.Start();
    }

    /// <summary>True once the terminal has gone (end of input or an error): the screen should end.</summary>
    internal bool Closed { get; private set; }

    internal bool TryTake(out Key key) => _keys.TryDequeue(out key);

    private void ReadLoop()
    {
        byte[] buffer = new byte[256];
        var decoded = new List<Key>(16);
        while (true)
        {
            nint n = Interop.Libc.ReadRetrying(0, buffer);
            if (n <= 0)
            {
                Closed = true;
                _wake();
                return;
            }
            decoded.Clear();
            KeyDecoder.Decode(buffer.AsSpan(0, (int)n), decoded);
            foreach (Key key in decoded)
                _keys.Enqueue(key);
            _wake();
        }
    }
}
