using System.Diagnostics;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Tests.Kernel;
using AIOps.Trace.Tests.Shared;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>
/// Issue 14: the verdict store on a disk that fills up and on one mounted read-only, as a node's
/// volume can be. Real tmpfs mounts (root, as the whole suite runs here): nothing crashes, every
/// refusal names the file and says nothing was stored, and what was stored before stays readable.
/// </summary>
public sealed class VerdictStoreDiskTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new("aiops-harden-disk-");
    private string Db => Path.Combine(_dir.Path, "verdicts.db");

    public VerdictStoreDiskTests() => Mount("-t", "tmpfs", "-o", "size=160k", "tmpfs", _dir.Path);

    public void Dispose()
    {
        Mount("-o", "remount,rw", _dir.Path);
        Run("umount", _dir.Path);
        _dir.Dispose();
    }

    private static void Mount(params string[] args) => Run("mount", args);

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {stderr}");
    }

    private static OperatorVerdict Verdict(int i) =>
        new($"/kubepods/pod-{i}", "owner:shop/web", i % 2 == 0, null, Enumerable.Range(0, 17).Select(k => (double)(i + k)).ToArray(), T0, T0.AddSeconds(i));

    /// <summary>Records until the store refuses; returns how many it stored and the refusal.</summary>
    private static (int Stored, VerdictStoreException Refusal) FillUp(VerdictStore store)
    {
        for (int i = 0; i < 100_000; i++)
        {
            try
            {
                store.Record(Verdict(i));
            }
            catch (VerdictStoreException e)
            {
                return (i, e);
            }
        }
        throw new Xunit.Sdk.XunitException("a 160 KiB disk took 100,000 verdicts: it never filled");
    }

    /// <summary>Writes zeros to <paramref name="path"/> until the disk refuses (ENOSPC is an IOException).</summary>
    private static void FillFile(string path)
    {
        using FileStream f = File.Create(path);
        byte[] block = new byte[4096];
        for (int i = 0; i < 1_000_000; i++)
        {
            f.Write(block);
            f.Flush();
        }
    }

    [Fact]
    public void A_full_disk_refuses_the_next_verdict_by_name_and_keeps_every_one_before()
    {
        int stored;
        VerdictStoreException full;
        using (VerdictStore store = VerdictStore.Open(Db))
            (stored, full) = FillUp(store);

        Assert.True(full.Full);
        Assert.Contains($"verdict store '{Db}' is full", full.Message);
        Assert.Contains("not stored", full.Message);
        Assert.True(stored > 10, $"only {stored} verdicts fitted");

        // Still full: the store opens (a sidecar restarting on a full disk does not crash-loop) and reads all.
        using (VerdictStore again = VerdictStore.Open(Db))
        {
            Assert.Null(again.SetAside);
            Assert.Equal(stored, again.Verdicts().Count);
            Assert.Equal(0, again.UnreadableRows);
        }
        // A smaller row may still fit a page's free space: take the last bytes of the disk too.
        string filler = Path.Combine(_dir.Path, "filler");
        Assert.Throws<IOException>(() => FillFile(filler));
        (int code, string stdout, string stderr) = CliProcess.Run("label", "/kubepods/late", "--normal", "--db", Db);
        Assert.Equal(1, code);
        Assert.Equal($"aiops-trace: verdict store '{Db}' is full: its disk has no space left, the verdict was not stored", stderr.Trim());
        Assert.Empty(stdout);

        // Room again: the next verdict is stored after the others, none lost.
        File.Delete(filler);
        Mount("-o", "remount,size=4m", _dir.Path);
        using VerdictStore roomy = VerdictStore.Open(Db);
        OperatorVerdict next = roomy.Record(Verdict(stored));
        IReadOnlyList<OperatorVerdict> all = roomy.Verdicts();
        Assert.Equal(stored + 1, all.Count);
        Assert.Equal(next.Id, all[^1].Id);
        Assert.Equal(Enumerable.Range(0, stored + 1).Select(i => $"/kubepods/pod-{i}"), all.Select(v => v.Container));
    }

    [Fact]
    public void A_read_only_store_gives_its_verdicts_and_refuses_new_ones_in_one_line()
    {
        using (VerdictStore store = VerdictStore.Open(Db))
            for (int i = 0; i < 5; i++)
                store.Record(Verdict(i));
        Mount("-o", "remount,ro", _dir.Path);

        using (VerdictStore store = VerdictStore.Open(Db))
        {
            Assert.NotNull(store.ReadOnlyReason);
            Assert.Null(store.SetAside); // read-only is not corrupt: never set aside
            Assert.Equal(5, store.Verdicts().Count);
            using var analyzer = new AIOps.Trace.Analysis.Detection.AnomalyAnalyzer();
            Assert.Equal(5, store.FeedInto(analyzer));
            VerdictStoreException refused = Assert.Throws<VerdictStoreException>(() => store.Record(Verdict(5)));
            Assert.True(refused.ReadOnly);
            Assert.Contains($"verdict store '{Db}' is read-only", refused.Message);
        }

        (int code, string stdout, string stderr) = CliProcess.Run("label", "/kubepods/late", "--abnormal", "--db", Db);
        Assert.Equal(1, code);
        Assert.StartsWith($"aiops-trace: {Db} is read-only", stderr); // the store's state, said once at open
        Assert.Contains($"verdict store '{Db}' is read-only", stderr);
        Assert.Equal(2, stderr.Trim().Split('\n').Length);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Empty(stdout);

        // A new file in a read-only directory cannot be made: one line, and nothing at the path.
        string fresh = Path.Combine(_dir.Path, "new.db");
        (code, _, stderr) = CliProcess.Run("label", "/kubepods/late", "--normal", "--db", fresh);
        Assert.Equal(2, code); // a path that cannot be a store is bad input
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(fresh, stderr);
        Assert.False(File.Exists(fresh));
    }
}
