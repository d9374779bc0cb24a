using System.Globalization;

namespace AIOps.Trace;

/// <summary>
/// Gives up the capabilities a tracer does not need once its programs are attached and its socket
/// bound: every thread of the process keeps only <see cref="Tracing"/> (or nothing), with
/// no_new_privs set, so neither the process nor anything it runs can get the rest back. Linux
/// holds capabilities per thread and the .NET runtime's threads exist before Main, so the shim
/// signals each thread to apply the limit itself (as glibc does for setuid).
/// </summary>
public static class ProcessCapabilities
{
    // include/uapi/linux/capability.h
    private static readonly string[] Names =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// What a running sidecar still needs: CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE to load the
    /// programs again when the supervisor restarts a failed engine; CAP_SYS_ADMIN for that too on
    /// older kernels and libbpf, and for setns(2) into containers' network namespaces;
    /// CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to read other users' /proc files and root-only
    /// runtime state. Everything else (CAP_DAC_OVERRIDE, CAP_SETUID, CAP_NET_ADMIN, CAP_SYS_MODULE,
    /// CAP_KILL, CAP_NET_BIND_SERVICE once bound...) goes.
    /// </summary>
    public static ulong Tracing { get; } = Mask("CAP_BPF", "CAP_PERFMON", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH");

    /// <summary>
    /// Limits every thread to <paramref name="keep"/> (bit n = capability n). Returns a line that
    /// says what was kept and dropped, or why nothing was (a thread that would not comply, a
    /// shim without the call): the caller logs it, and the process runs on either way.
    /// </summary>
    public static CapabilityLimit Limit(ulong keep)
    {
        ulong before = Effective();
        int rc;
        try
        {
            rc = Interop.Interop.CapsLimit(keep, timeoutMs: 2000);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return new CapabilityLimit(false, before, before, "capabilities kept: the native shim cannot limit them (" + e.Message + ")");
        }
        ulong after = Effective();
        if (rc != 0)
            return new CapabilityLimit(false, before, after, $"capabilities kept: limiting them failed ({Interop.Ensure.ErrnoName(-rc)})");
        string kept = after == 0 ? "none" : string.Join(", ", NamesOf(after));
        return new CapabilityLimit(true, before, after,
            $"capabilities limited on every thread: kept {kept}; dropped {NamesOf(before & ~after).Count()}; no_new_privs set");
    }

    /// <summary>The names of the bits set in <paramref name="mask"/>.</summary>
    public static IEnumerable<string> NamesOf(ulong mask)
    {
        for (int bit = 0; bit < 64; bit++)
            if ((mask & (1UL << bit)) != 0)
                yield return bit < Names.Length ? Names[bit] : "CAP_" + bit.ToString(CultureInfo.InvariantCulture);
    }

    private static ulong Mask(params string[] names)
    {
        ulong mask = 0;
        foreach (string name in names)
            mask |= 1UL << Array.IndexOf(Names, name);
        return mask;
    }

    // CapEff of the calling thread.
    private static ulong Effective()
    {
        foreach (string line in File.ReadLines("/proc/thread-self/status"))
            if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                return ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return 0;
    }
}

/// <summary>What <see cref="ProcessCapabilities.Limit"/> did.</summary>
/// <param name="Applied">Every thread now holds at most the kept set.</param>
/// <param name="Before">The caller's effective capabilities before.</param>
/// <param name="After">The caller's effective capabilities after.</param>
/// <param name="Message">One line for the log.</param>
public sealed record CapabilityLimit(bool Applied, ulong Before, ulong After, string Message);
