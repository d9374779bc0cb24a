using System.Diagnostics;

namespace AIOps.Trace.Diagnosis;

/// <summary>
/// A host-wide figure the probes read once for a burst of per-container readings: a window's cut
/// reads every container within milliseconds, and the host's files (PSI, meminfo, vmstat,
/// diskstats, the v1 root's devices) are the same for all of them. A read older than
/// <see cref="MaxAge"/> is made again; what it returned (null included) is served meanwhile.
/// </summary>
internal sealed class BurstCache<T>(Func<T> read)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(50);

    private T _value = default!;
    private long _readAt;

    /// <param name="now">Stopwatch ticks of the reading the figure goes with.</param>
    public T Get(long now)
    {
        if (_readAt != 0 && Stopwatch.GetElapsedTime(_readAt, now) < MaxAge)
            return _value;
        _value = read();
        _readAt = now;
        return _value;
    }
}
