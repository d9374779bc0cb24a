using System.Diagnostics.CodeAnalysis;

namespace AIOps.Trace.Aggregation;

/// <summary>
/// Throws for the aggregation hot paths. Keeping the throw out of the caller keeps the caller
/// small enough to inline and keeps its happy path free of exception-construction code.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowDestinationTooSmall(string paramName, int needed) =>
        throw new ArgumentException($"Destination is too small: at least {needed} elements are needed.", paramName);

    [DoesNotReturn]
    public static void ThrowNegativeCount(string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, "A sample count cannot be negative.");

    [DoesNotReturn]
    public static void ThrowQuantileOutOfRange(string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, "A quantile must lie in [0, 1].");
}
