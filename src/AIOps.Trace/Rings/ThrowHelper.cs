using System.Diagnostics.CodeAnalysis;

namespace AIOps.Trace.Rings;

/// <summary>Throws kept out of the hot loops so they stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    internal static void ThrowConcurrentLease() =>
        throw new InvalidOperationException("The ring buffer is already leased: one consumer at a time.");

    [DoesNotReturn]
    internal static void ThrowConcurrentDrain() =>
        throw new InvalidOperationException("The perf buffers are already being drained: one consumer at a time.");
}
