using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// A real block device for a test: a loop device in direct-I/O mode over a preallocated file on
/// disk (/var/tmp, not tmpfs, which has no direct I/O), so the container's direct I/O reaches a
/// device with its own /proc/diskstats line and blkio counters. Dispose detaches it and deletes
/// the file, even when the test failed.
/// </summary>
public sealed class LoopDevice : IDisposable
{
    private const string Folder = "/var/tmp";
    private const string FilePrefix = TestCgroup.Prefix + "disk-";

    private LoopDevice(string backingFile, string path)
    {
        BackingFile = backingFile;
        Path = path;
        Name = System.IO.Path.GetFileName(path);
        Number = File.ReadAllText($"/sys/block/{Name}/dev").Trim();
    }

    /// <summary>The backing file, /var/tmp/aiops-test-disk-*.img.</summary>
    public string BackingFile { get; }

    /// <summary>The device node, e.g. /dev/loop0.</summary>
    public string Path { get; }

    /// <summary>Its name in /proc/diskstats, e.g. loop0.</summary>
    public string Name { get; }

    /// <summary>"major:minor", as blkio and io.max files name it.</summary>
    public string Number { get; }

    public static LoopDevice Create(int sizeMiB)
    {
        DetachLeftovers();
        string file = System.IO.Path.Combine(Folder, $"{FilePrefix}{Guid.NewGuid():N}.img");
        try
        {
            // Preallocated rather than sparse: writes do not allocate blocks as they go.
            Run("fallocate", $"--length {sizeMiB}MiB {file}");
            string device = Run("losetup", $"--find --show --direct-io=on {file}").Trim();
            return new LoopDevice(file, device);
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    /// <summary>Cumulative (I/Os completed, io_ticks ms) of the device in /proc/diskstats.</summary>
    public (long Ios, long IoTicksMs) Stat()
    {
        string[] f = File.ReadAllText($"/sys/block/{Name}/stat").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(f[0]) + long.Parse(f[4]), long.Parse(f[9]));
    }

    /// <summary>Waits until I/O completes on the device (workloads take a moment to start); false after <paramref name="timeout"/>.</summary>
    public bool WaitForIo(TimeSpan timeout)
    {
        long before = Stat().Ios;
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            Thread.Sleep(100);
            if (Stat().Ios > before)
                return true;
        }
        return false;
    }

    public void Dispose()
    {
        Detach(Path);
        File.Delete(BackingFile);
    }

    /// <summary>Loop devices still attached to a test backing file (leaks from this or an earlier, crashed run).</summary>
    public static IReadOnlyList<string> Leftovers() =>
        Run("losetup", "--list --noheadings --output NAME,BACK-FILE")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 2 && f[1].Contains(Folder + "/" + FilePrefix, StringComparison.Ordinal))
            .Select(f => f[0])
            .ToList();

    /// <summary>Backing files still in /var/tmp.</summary>
    public static IReadOnlyList<string> LeftoverFiles() => Directory.GetFiles(Folder, FilePrefix + "*.img");

    private static void DetachLeftovers()
    {
        foreach (string device in Leftovers())
            Detach(device);
        foreach (string file in LeftoverFiles())
            File.Delete(file);
    }

    private static void Detach(string device)
    {
        // A device still open (a workload being killed) is detached when it is closed: losetup
        // sets autoclear. Retried briefly in case the kernel reports it busy.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Run("losetup", $"--detach {device}");
                return;
            }
            catch (InvalidOperationException) when (waited.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(100);
            }
        }
    }

    private static string Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} exited {p.ExitCode}: {error.Trim()}");
        return output;
    }
}
