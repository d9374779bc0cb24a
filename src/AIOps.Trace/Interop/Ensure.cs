using System.Diagnostics.CodeAnalysis;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Interop;

/// <summary>
/// Turns the shim's -errno results into typed exceptions through one table, so every call site
/// reads <c>Ensure.Success(Interop.X(...), "what was being done")</c>.
/// </summary>
internal static class Ensure
{
    internal const int EPERM = 1, ENOENT = 2, E2BIG = 7, EACCES = 13, EBUSY = 16, EINVAL = 22,
        ENOSPC = 28, ENOSYS = 38, EOPNOTSUPP = 95, ETIMEDOUT = 110, ENOTSUPP = 524;

    /// <summary>Returns a non-negative result unchanged; throws for -errno.</summary>
    internal static int Success(int result, string operation, string? log = null)
    {
        if (result < 0)
            Throw(result, operation, log);
        return result;
    }

    [DoesNotReturn]
    internal static void Throw(int result, string operation, string? log = null) =>
        throw Create(-result, operation, log);

    internal static BpfException Create(int errno, string operation, string? log) => errno switch
    {
        EPERM or EACCES => new BpfPermissionException(operation, errno, log),
        ENOSYS or EOPNOTSUPP or ENOTSUPP => new BpfNotSupportedException(operation, errno, log),
        _ when !string.IsNullOrEmpty(log) && log.Contains("verifier", StringComparison.OrdinalIgnoreCase)
            => new BpfVerifierException(operation, errno, log),
        _ => new BpfException(operation, errno, log),
    };

    internal static string ErrnoName(int errno) => errno switch
    {
        EPERM => "EPERM", ENOENT => "ENOENT", E2BIG => "E2BIG", EACCES => "EACCES", EBUSY => "EBUSY",
        EINVAL => "EINVAL", ENOSPC => "ENOSPC", ENOSYS => "ENOSYS", EOPNOTSUPP => "EOPNOTSUPP",
        ETIMEDOUT => "ETIMEDOUT", ENOTSUPP => "ENOTSUPP", _ => "errno " + errno,
    };
}
