namespace KvmStat;

/// <summary>
/// Brings a sorted list of held items (counter groups of threads, VMs, debugfs folders) in line
/// with a sorted list of the keys that exist now, in one walk over both: items whose key is gone
/// are dropped, keys without an item get one. Refreshes call it every interval, so the callers
/// keep their delegates in fields (no allocation).
/// </summary>
internal static class SortedMerge
{
    /// <param name="current">The keys that exist now, ascending, without duplicates.</param>
    /// <param name="held">The items held, ascending by key; changed in place.</param>
    /// <param name="keyOf">An item's key.</param>
    /// <param name="open">A new item for a key, or null when there is none to hold (the thread exited meanwhile).</param>
    /// <param name="drop">Called for each item whose key is gone, after it left <paramref name="held"/>.</param>
    internal static void Sync<TKey, TItem>(
        IReadOnlyList<TKey> current, List<TItem> held, Func<TItem, TKey> keyOf, Func<TKey, TItem?> open, Action<TItem> drop)
        where TKey : IComparable<TKey>
        where TItem : class
    {
        int h = 0;
        for (int k = 0; k < current.Count; k++)
        {
            TKey key = current[k];
            while (h < held.Count && keyOf(held[h]).CompareTo(key) < 0)
                Drop(held, h, drop);
            if (h < held.Count && keyOf(held[h]).CompareTo(key) == 0)
            {
                h++;
                continue;
            }
            if (open(key) is TItem item)
                held.Insert(h++, item);
        }
        while (h < held.Count)
            Drop(held, h, drop);
    }

    private static void Drop<TItem>(List<TItem> held, int index, Action<TItem> drop)
    {
        TItem item = held[index];
        held.RemoveAt(index);
        drop(item);
    }
}
