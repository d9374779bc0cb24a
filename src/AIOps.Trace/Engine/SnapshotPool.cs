using Microsoft.Extensions.ObjectPool;

namespace AIOps.Trace;

/// <summary>
/// The container entries windows hand out, recycled when a window is disposed (from any thread):
/// Microsoft.Extensions.ObjectPool's pool, which resets an entry as it comes back.
/// </summary>
internal sealed class SnapshotPool(int maximumRetained)
{
    private readonly DefaultObjectPool<ContainerSnapshot> _pool = new(new ResetPolicy(), maximumRetained);

    public ContainerSnapshot Get() => _pool.Get();

    public void Return(ContainerSnapshot c) => _pool.Return(c);

    private sealed class ResetPolicy : PooledObjectPolicy<ContainerSnapshot>
    {
        public override ContainerSnapshot Create() => new();

        public override bool Return(ContainerSnapshot obj)
        {
            obj.Reset();
            return true;
        }
    }
}
