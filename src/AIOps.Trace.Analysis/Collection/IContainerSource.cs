namespace AIOps.Trace.Analysis.Collection;

/// <summary>
/// Where a round's containers come from when the pipeline pulls them: a Prometheus server in
/// cluster mode (`aiops-trace analyze --prometheus URL`). The sidecar pushes its own windows
/// into the pipeline instead.
/// </summary>
public interface IContainerSource
{
    /// <summary>What the source reads, for logs and the API ("prometheus http://...:9090").</summary>
    string Description { get; }

    /// <summary>
    /// The containers of the current window: their attributes, metric vectors and diagnosis
    /// outcomes where known. Throws <see cref="ContainerSourceException"/> when the source cannot
    /// be read (the caller reports it and tries again next round).
    /// </summary>
    Task<IReadOnlyList<ContainerInput>> CollectAsync(CancellationToken cancel);
}

/// <summary>A source could not be read: the message names it and says what went wrong.</summary>
public sealed class ContainerSourceException(string message, Exception? inner = null) : Exception(message, inner);
