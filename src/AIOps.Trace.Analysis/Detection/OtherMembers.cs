using System.Collections;

namespace AIOps.Trace.Analysis.Detection;

/// <summary>
/// A domain's keys but one: the peers of one member, read through the domain's own list. A copy
/// per member would make a domain of n containers cost n² a window.
/// </summary>
internal sealed class OtherMembers(IReadOnlyList<string> keys, int self) : IReadOnlyList<string>
{
    public int Count => keys.Count - 1;

    public string this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return keys[index < self ? index : index + 1];
        }
    }

    public IEnumerator<string> GetEnumerator()
    {
        for (int j = 0; j < keys.Count; j++)
            if (j != self)
                yield return keys[j];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
