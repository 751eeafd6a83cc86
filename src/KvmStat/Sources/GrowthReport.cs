namespace KvmStat.Sources;

/// <summary>
/// When a count that only grows is worth a line on stderr: its first event, then each time it has
/// doubled since the last line. A table that stays full says so a few dozen times in the life of
/// a service, not at every capture (the outputs carry the exact count all along).
/// </summary>
internal struct GrowthReport
{
    private long _said;

    /// <summary>Whether <paramref name="count"/> is due a line, and how much it grew since the last one.</summary>
    internal bool Due(long count, out long grown)
    {
        grown = count - _said;
        if (count <= 0 || count < 2 * _said)
            return false;
        _said = count;
        return true;
    }
}
