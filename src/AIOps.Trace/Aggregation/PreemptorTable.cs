namespace AIOps.Trace.Aggregation;

/// <summary>
/// Counts preemptions per preempting cgroup in fixed storage (open addressing), so recording
/// never allocates. When more distinct preemptors show up than it holds, the rest are counted
/// in <see cref="Overflow"/> rather than dropped.
/// </summary>
public sealed class PreemptorTable
{
    /// <summary>Distinct preemptors tracked per container per window.</summary>
    public const int Capacity = 32;

    private readonly ulong[] _ids = new ulong[Capacity];
    private readonly long[] _counts = new long[Capacity];

    /// <summary>Preemptions by cgroups that did not fit.</summary>
    public long Overflow { get; private set; }

    public void Record(ulong cgroupId)
    {
        // Id 0 marks a free slot; a real cgroup id is never 0 (kernfs ids start at 1).
        ulong key = cgroupId == 0 ? ulong.MaxValue : cgroupId;
        int start = (int)((key * 0x9E3779B97F4A7C15UL) >> 59) & (Capacity - 1);
        for (int i = 0; i < Capacity; i++)
        {
            int slot = (start + i) & (Capacity - 1);
            if (_ids[slot] == key)
            {
                _counts[slot]++;
                return;
            }
            if (_ids[slot] == 0)
            {
                _ids[slot] = key;
                _counts[slot] = 1;
                return;
            }
        }
        Overflow++;
    }

    /// <summary>The recorded (cgroup id, count) pairs, largest first, into <paramref name="destination"/>.</summary>
    public int CopyTop(Span<(ulong CgroupId, long Count)> destination)
    {
        int n = 0;
        for (int slot = 0; slot < Capacity; slot++)
        {
            if (_ids[slot] == 0)
                continue;
            var entry = (_ids[slot] == ulong.MaxValue ? 0UL : _ids[slot], _counts[slot]);
            // Insertion into the sorted prefix: Capacity is small.
            int i = Math.Min(n, destination.Length - 1);
            if (i < 0 || (n >= destination.Length && destination[i].Count >= entry.Item2))
                continue;
            while (i > 0 && destination[i - 1].Count < entry.Item2)
            {
                destination[i] = destination[i - 1];
                i--;
            }
            destination[i] = entry;
            if (n < destination.Length)
                n++;
        }
        return n;
    }

    public void CopyFrom(PreemptorTable other)
    {
        other._ids.CopyTo(_ids, 0);
        other._counts.CopyTo(_counts, 0);
        Overflow = other.Overflow;
    }

    public void Reset()
    {
        Array.Clear(_ids);
        Array.Clear(_counts);
        Overflow = 0;
    }
}
