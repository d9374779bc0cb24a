namespace AIOps.Trace;

/// <summary>
/// The container entries windows hand out, recycled when a window is disposed (from any thread).
/// A lock around a stack: a window takes and returns a few hundred entries once a second, so
/// there is no contention to design for, and the engine needs no package for it.
/// </summary>
internal sealed class SnapshotPool(int maximumRetained)
{
    private readonly Stack<ContainerSnapshot> _free = new();

    public ContainerSnapshot Get()
    {
        lock (_free)
            return _free.TryPop(out ContainerSnapshot? c) ? c : new ContainerSnapshot();
    }

    public void Return(ContainerSnapshot c)
    {
        c.Reset();
        lock (_free)
            if (_free.Count < maximumRetained)
                _free.Push(c);
    }
}
