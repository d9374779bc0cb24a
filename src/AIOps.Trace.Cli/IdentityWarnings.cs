namespace AIOps.Trace.Cli;

/// <summary>
/// Prints each reason the node's disk could not name containers (see
/// <see cref="Cgroups.IdentityResolver.Warnings"/>) once, on stderr, as it first appears.
/// </summary>
internal sealed class IdentityWarnings(TraceEngine engine)
{
    private int _printed;

    public void PrintNew()
    {
        IReadOnlyList<string> all = engine.Identity.Warnings;
        for (; _printed < all.Count; _printed++)
            CliLog.Warning("warning: " + all[_printed]);
    }
}
