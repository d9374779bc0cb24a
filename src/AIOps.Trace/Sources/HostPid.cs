namespace AIOps.Trace.Sources;

/// <summary>
/// This process's id as the host numbers it. The programs compare <c>task-&gt;tgid</c>, the id in
/// the initial PID namespace, with the engine's own to skip its threads; inside a PID namespace
/// (a sidecar with <c>shareProcessNamespace</c> and no <c>hostPID</c>) <see cref="Environment.ProcessId"/>
/// is the pod's number, which names some unrelated host process. The <c>NStgid</c> line of
/// <c>/proc/self/status</c> lists the thread group's id in every PID namespace from the one the
/// proc mount belongs to down to the process's own (fs/proc/array.c, task_state()): its first
/// field is the id in the mount's namespace, the host's when the mount is the host's /proc
/// (<c>--host-root</c> with the host's /proc mounted under it, or <c>hostPID</c>).
/// </summary>
internal static class HostPid
{
    /// <summary>
    /// The initial PID namespace as /proc shows it: statically numbered (PROC_PID_INIT_INO,
    /// 0xEFFFFFFC in include/linux/proc_ns.h); namespaces made later are numbered from 0xF0000000.
    /// </summary>
    internal const string InitPidNamespace = "pid:[4026531836]";

    /// <summary>
    /// This process's host pid, read from the proc mount under <paramref name="hostRoot"/> (its
    /// /proc). Falls back to <see cref="Environment.ProcessId"/> when that file says nothing
    /// (kernels before 4.1 have no NStgid line) and sets <paramref name="warning"/> when the
    /// answer may not be the host's number.
    /// </summary>
    public static int Of(string hostRoot, out string? warning)
    {
        string proc = hostRoot.Trim('/').Length == 0 ? "/proc" : Path.Join(hostRoot, "proc");
        warning = null;
        string? status = TryRead(Path.Join(proc, "self", "status"));
        if (status is null || !TryParseOutermostTgid(status, out int pid))
        {
            warning = $"{proc}/self/status has no NStgid line: the engine's own threads are filtered by pid {Environment.ProcessId}, right only in the host's PID namespace";
            return Environment.ProcessId;
        }
        // pid 1 of a proc mount belongs to the mount's namespace: the initial one, or not the host's numbers.
        string? mountNamespace = TryReadLink(Path.Join(proc, "1", "ns", "pid"));
        if (mountNamespace is not null && mountNamespace != InitPidNamespace)
            warning = $"{proc} belongs to a PID namespace ({mountNamespace}), not the host's: the engine's own threads may be traced; mount the host's /proc at <root>/proc and pass --host-root <root>";
        return pid;
    }

    /// <summary>The first field of the <c>NStgid:</c> line: the thread group id in the proc mount's PID namespace.</summary>
    public static bool TryParseOutermostTgid(string status, out int pid)
    {
        pid = 0;
        foreach (string line in status.Split('\n'))
        {
            if (!line.StartsWith("NStgid:", StringComparison.Ordinal))
                continue;
            string[] fields = line["NStgid:".Length..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && int.TryParse(fields[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out pid) && pid > 0;
        }
        return false;
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? TryReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
