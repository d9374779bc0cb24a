using System.Text.Json;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// Reads of the node's disk for <see cref="IdentityResolver"/> that never throw: a missing file
/// or directory is "not there", anything else that goes wrong (permissions, a directory where a
/// file should be, a symlink loop, malformed JSON) is counted as a failed lookup and also yields
/// nothing. Identity is decoration on the figures; a bad file must not cost a window.
/// </summary>
internal sealed class HostFiles
{
    // Runtime configs are a few KiB; a multi-megabyte one is not what we think it is.
    private const long MaxJsonBytes = 4 << 20;

    private long _failed;
    private long _missing;
    private readonly Lock _warnLock = new();
    private readonly Dictionary<string, string> _warnings = new(StringComparer.Ordinal);
    private string[] _warningList = [];

    public HostFiles(string hostRoot)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostRoot);
        HostRoot = hostRoot;
    }

    public string HostRoot { get; }

    /// <summary>Lookups that found the file or directory but could not read or parse it.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Lookups whose file or directory did not exist.</summary>
    public long Missing => Interlocked.Read(ref _missing);

    /// <summary>Counts a failure found by a caller (a malformed value inside a readable file).</summary>
    public void CountFailure() => Interlocked.Increment(ref _failed);

    /// <summary>Why lookups of the node's disk gave less than they should, once per cause (first seen first).</summary>
    public IReadOnlyList<string> Warnings => Volatile.Read(ref _warningList);

    /// <summary>Records a warning once per <paramref name="key"/>; later ones with the same key are dropped.</summary>
    public void Warn(string key, string message)
    {
        lock (_warnLock)
        {
            if (!_warnings.TryAdd(key, message))
                return;
            Volatile.Write(ref _warningList, [.. _warningList, message]);
        }
    }

    /// <summary><paramref name="hostPath"/> ("/var/log/pods") under the host root.</summary>
    public string Under(string hostPath) => Path.Join(HostRoot, hostPath);

    /// <summary>Names (not paths) of the entries of a host directory; empty when it cannot be listed.</summary>
    public string[] List(string hostPath, bool directories)
    {
        string dir = Under(hostPath);
        try
        {
            string[] entries = directories ? Directory.GetDirectories(dir) : Directory.GetFiles(dir);
            for (int i = 0; i < entries.Length; i++)
                entries[i] = Path.GetFileName(entries[i]);
            return entries;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Absent is normal (no such runtime on this node); anything else in its place is not.
            if (Unusable(dir, e) is not string why)
            {
                Interlocked.Increment(ref _missing);
                return [];
            }
            Interlocked.Increment(ref _failed);
            Warn("list:" + dir, $"cannot list {dir}: {why}; the names it holds are unknown, identity comes from the cgroup path alone");
            return [];
        }
    }

    private static bool Resolves(FileInfo link)
    {
        try
        {
            return link.ResolveLinkTarget(returnFinalTarget: true) is { } final && (Directory.Exists(final.FullName) || File.Exists(final.FullName));
        }
        catch (IOException)
        {
            return false; // a loop
        }
    }

    // Why a directory that could not be listed is unusable, or null when it simply does not exist.
    private static string? Unusable(string dir, Exception e)
    {
        var info = new FileInfo(dir);
        if (info.LinkTarget is string target && !Resolves(info))
            return $"it is a symlink to {target} that does not resolve (dangling, or a loop)";
        if (info.Exists && !Directory.Exists(dir))
            return "it is a file, not a directory";
        return e is DirectoryNotFoundException ? null : e.Message;
    }

    /// <summary>Whether a host directory exists (a directory we may not list still exists).</summary>
    public bool DirectoryExists(string hostPath) => Directory.Exists(Under(hostPath));

    /// <summary>The parsed JSON document at a host path, or null when missing, unreadable or malformed.</summary>
    public JsonDocument? ReadJson(string hostPath)
    {
        string file = Under(hostPath);
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (stream.Length > MaxJsonBytes)
            {
                Interlocked.Increment(ref _failed);
                return null;
            }
            return JsonDocument.Parse(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Interlocked.Increment(ref _missing);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            Interlocked.Increment(ref _failed);
            return null;
        }
    }

    /// <summary>A string property along <paramref name="path"/> ("Config", "Image"), or null.</summary>
    public static string? String(JsonElement e, params ReadOnlySpan<string> path)
    {
        foreach (string name in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out e))
                return null;
        }
        return e.ValueKind == JsonValueKind.String ? e.GetString() : null;
    }
}
