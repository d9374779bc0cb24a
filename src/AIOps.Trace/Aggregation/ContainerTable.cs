using System.Runtime.CompilerServices;

namespace AIOps.Trace.Aggregation;

/// <summary>
/// Accumulators by cgroup id. Lookups of known cgroups never allocate; a cgroup seen for the
/// first time allocates its accumulator once and keeps it across windows.
/// </summary>
internal sealed class ContainerTable
{
    private readonly Dictionary<ulong, ContainerAccumulator> _byId = new(capacity: 256);
    private ContainerAccumulator? _last;

    public int Count => _byId.Count;

    /// <summary>The accumulator of <paramref name="cgroupId"/>, created on first sight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ContainerAccumulator Get(ulong cgroupId)
    {
        // Batches come from one CPU and run in bursts of the same cgroup: try the last one first.
        ContainerAccumulator? last = _last;
        if (last is not null && last.CgroupId == cgroupId)
            return last;
        return _last = GetSlow(cgroupId);
    }

    private ContainerAccumulator GetSlow(ulong cgroupId)
    {
        ref ContainerAccumulator? slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_byId, cgroupId, out _);
        return slot ??= new ContainerAccumulator(cgroupId);
    }

    public bool TryGet(ulong cgroupId, out ContainerAccumulator accumulator) =>
        _byId.TryGetValue(cgroupId, out accumulator!);

    public Dictionary<ulong, ContainerAccumulator>.ValueCollection All => _byId.Values;

    /// <summary>Forgets a cgroup (one that was removed), so a long-running engine does not grow without bound.</summary>
    public bool Remove(ulong cgroupId)
    {
        if (_last?.CgroupId == cgroupId)
            _last = null;
        return _byId.Remove(cgroupId);
    }

    public void ResetAll()
    {
        foreach (ContainerAccumulator a in _byId.Values)
            a.Reset();
    }
}
