using AIOps.Trace.Bpf;

namespace AIOps.Trace.Contracts;

/// <summary>`aiops-trace doctor --json`: what this kernel and process allow, and the tier the engine would use.</summary>
/// <param name="Features">Each feature check by name (btf, ring_buffer, tp_btf, ...).</param>
/// <param name="Capabilities">Each capability by name: held or not.</param>
public sealed record DoctorDocument(string KernelRelease, IReadOnlyDictionary<string, FeatureDocument> Features, CgroupsDocument Cgroups,
    IReadOnlyDictionary<string, bool> Capabilities, TierDocument Tier)
{
    /// <summary>The document of <paramref name="f"/>.</summary>
    public static DoctorDocument From(KernelFeatures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var features = new Dictionary<string, FeatureDocument>(StringComparer.Ordinal);
        foreach (FeatureCheck c in f.Features)
            features[c.Name] = new FeatureDocument(c.Available, c.Detail);
        var capabilities = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (FeatureCheck c in f.Capabilities)
            capabilities[c.Name] = c.Available;
        TierChoice t = f.Tier;
        return new(f.Release, features,
            new CgroupsDocument(f.CgroupLayout, f.Controllers.Select(m => new ControllerDocument(m.Controller, m.Version, m.MountPoint)).ToList()),
            capabilities,
            new TierDocument(t.Mode.Name(), t.Transport.Name(), t.Attach.Name(), t.ThrottleSource.Name(), t.ThrottleHook.Name(), t.Why,
                t.CgroupId, t.CgroupIdWhy, t.CannotMeasure,
                // Each combination the loader tried before the chosen one, and why the kernel refused it.
                t.Attempts.Where(a => !a.Succeeded).Select(a => new TierAttemptDocument(a.Attach.Name(), a.Hook.Name(), a.Failure!)).ToList()));
    }
}

/// <summary>One feature check: available or not, and the detail that says why.</summary>
public sealed record FeatureDocument(bool Available, string Detail);

/// <summary>The cgroup layout (v1, v2 or hybrid) and where each controller is mounted.</summary>
public sealed record CgroupsDocument(string Layout, IReadOnlyList<ControllerDocument> Controllers);

/// <summary>A cgroup controller's hierarchy version and mount point.</summary>
public sealed record ControllerDocument(string Controller, int Version, string MountPoint);

/// <summary>The tier the engine would use, why, what it cannot measure there, and the tiers tried before it.</summary>
public sealed record TierDocument(string Mode, string Transport, string Attach, string ThrottleSource, string ThrottleHook, string Why,
    string CgroupId, string CgroupIdWhy, IReadOnlyList<string> CannotMeasure, IReadOnlyList<TierAttemptDocument> Tried);

/// <summary>An attach mechanism and throttle hook the kernel refused, and its refusal.</summary>
public sealed record TierAttemptDocument(string Attach, string ThrottleHook, string Failure);
