using CsCheck;

namespace KvmStat.Tests;

/// <summary>The merge-walk that every source uses to follow threads, VMs and folders as they come and go.</summary>
public class SortedMergeTests
{
    private sealed class Item(long key)
    {
        internal long Key { get; } = key;
    }

    private static readonly Gen<long[]> SortedKeys = Gen.Long[0, 40].HashSet[0, 25].Select(set => set.Order().ToArray());

    [Fact]
    public void HeldItemsEndUpExactlyTheOpenableCurrentKeysInOrder()
    {
        Gen.Select(SortedKeys, SortedKeys, Gen.Long[0, 40].HashSet[0, 10]).Sample((before, current, unopenable) =>
        {
            var held = before.Select(k => new Item(k)).ToList();
            var kept = held.ToHashSet();
            var opened = new List<long>();
            var dropped = new List<Item>();
            SortedMerge.Sync(current, held, i => i.Key,
                key =>
                {
                    opened.Add(key);
                    return unopenable.Contains(key) ? null : new Item(key);
                },
                dropped.Add);

            long[] expected = [.. current.Where(k => before.Contains(k) || !unopenable.Contains(k))];
            Assert.Equal(expected, held.Select(i => i.Key));
            // Items of keys that stay are the same objects; only keys without an item were opened.
            Assert.All(held.Where(i => before.Contains(i.Key)), i => Assert.Contains(i, kept));
            Assert.Equal(current.Where(k => !before.Contains(k)), opened);
            // Exactly the items of keys that are gone were dropped, each once, none still held.
            Assert.Equal(before.Where(k => !current.Contains(k)), dropped.Select(i => i.Key));
            Assert.DoesNotContain(dropped, held.Contains);
        });
    }

    [Fact]
    public void NothingChangesWhenTheKeysAreTheSame()
    {
        var held = new List<Item> { new(1), new(5), new(9) };
        Item[] before = [.. held];
        SortedMerge.Sync(new long[] { 1, 5, 9 }, held, i => i.Key, _ => throw new InvalidOperationException("opened"), _ => throw new InvalidOperationException("dropped"));
        Assert.Equal(before, held);
    }
}
