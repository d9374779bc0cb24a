namespace AIOps.Trace.Bpf;

/// <summary>
/// A BPF operation failed. <see cref="Log"/> keeps everything libbpf and the verifier said; the
/// message is one line.
/// </summary>
public class BpfException : Exception
{
    public BpfException(string operation, int errno, string? log)
        : base($"{operation} failed: {Interop.Ensure.ErrnoName(errno)}{LastLine(log)}")
    {
        Operation = operation;
        Errno = errno;
        Log = log ?? "";
    }

    /// <summary>A failure whose one-line message says more than "operation failed: errno".</summary>
    protected BpfException(string message, string operation, int errno, string? log)
        : base(message)
    {
        Operation = operation;
        Errno = errno;
        Log = log ?? "";
    }

    /// <summary>What was being done, e.g. "load aiops_sched.bpf.o".</summary>
    public string Operation { get; }

    /// <summary>The positive errno the kernel or libbpf returned.</summary>
    public int Errno { get; }

    /// <summary>The full libbpf/verifier log captured during the call (may be empty).</summary>
    public string Log { get; }

    private static string LastLine(string? log)
    {
        if (string.IsNullOrWhiteSpace(log))
            return "";
        string[] lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : " (" + lines[^1] + ")";
    }
}

/// <summary>The kernel refused for lack of privilege (EPERM/EACCES): not root, or CAP_BPF/CAP_PERFMON missing, or locked down.</summary>
public sealed class BpfPermissionException(string operation, int errno, string? log) : BpfException(operation, errno, log);

/// <summary>The kernel lacks the feature (ENOSYS, EOPNOTSUPP, ENOTSUPP).</summary>
public sealed class BpfNotSupportedException(string operation, int errno, string? log) : BpfException(operation, errno, log);

/// <summary>The verifier rejected a program; <see cref="BpfException.Log"/> holds its full log.</summary>
public sealed class BpfVerifierException(string operation, int errno, string? log) : BpfException(operation, errno, log);

/// <summary>
/// A throttle hook forced by <see cref="TracerOptions.ThrottleHook"/> that the kernel cannot do.
/// Never a reason to fall back to procfs: the caller asked for this hook.
/// </summary>
public sealed class BpfThrottleHookException : BpfException
{
    public BpfThrottleHookException(string hook, string why, string operation, int errno, string? log)
        : base($"throttle hook {hook} is not available on kernel {KernelInfo.Release}: {why}", operation, errno, log) => Hook = hook;

    /// <summary>"fentry" or "kprobe".</summary>
    public string Hook { get; }
}

/// <summary>
/// The programs loaded and attached, but the kernel refuses to run the flush program on a given
/// CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU, Linux 5.10+), so no window could be cut.
/// Auto mode samples procfs instead (<see cref="TierPolicy.FallsBackToProcfs"/>).
/// </summary>
public sealed class BpfWindowFlushException(string operation, int errno, string? log)
    : BpfException($"kernel {KernelInfo.Release} cannot cut a window: {operation} failed with {Interop.Ensure.ErrnoName(errno)} "
        + $"(running a raw_tp program on a given CPU, BPF_F_TEST_RUN_ON_CPU, needs Linux {TierPolicy.WindowFlushKernel}+)", operation, errno, log);
