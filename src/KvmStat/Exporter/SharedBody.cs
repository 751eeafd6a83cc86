namespace KvmStat.Exporter;

/// <summary>
/// One exposition's bytes, shared by the scrapes that send them (scrapes of one sample share its
/// text). Its buffer goes back to the writer that wrote it once a newer exposition replaced it and
/// no scrape is sending it any more: the next exposition is written into it, where a dense host's
/// (tens of megabytes) would otherwise be a new large array at every scrape, garbage until the
/// runtime's next full collection. The owner's lock guards every member.
/// </summary>
internal sealed class SharedBody(MetricsWriter writer, ArraySegment<byte> bytes)
{
    internal ArraySegment<byte> Bytes { get; } = bytes;

    private int _senders;
    private bool _replaced;

    /// <summary>A scrape begins to send it.</summary>
    internal ArraySegment<byte> Take()
    {
        _senders++;
        return Bytes;
    }

    /// <summary>A scrape is done with it (sent, failed or cut off).</summary>
    internal void Done()
    {
        if (--_senders == 0 && _replaced)
            writer.Reuse(Bytes);
    }

    /// <summary>A newer exposition takes its place: its buffer goes back at once where nobody sends it.</summary>
    internal void Replace()
    {
        _replaced = true;
        if (_senders == 0)
            writer.Reuse(Bytes);
    }
}
