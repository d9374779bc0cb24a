using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Analysis.Partitioning;

/// <summary>A monitoring domain: containers expected to behave alike, compared with one another.</summary>
/// <param name="Id">The domain's name: the tag value ("owner:shop/web"), or "env:&lt;medoid key&gt;".</param>
/// <param name="Members">Keys of the member containers.</param>
public sealed record MonitoringDomain(string Id, IReadOnlyList<string> Members);

/// <summary>Why a container is in its domain.</summary>
/// <param name="Key">The container.</param>
/// <param name="DomainId">Its domain.</param>
/// <param name="Explanation">One sentence: the tag and its value, or the medoid and the attributes that matched.</param>
/// <param name="Medoid">The domain's medoid, for environment-aware domains.</param>
/// <param name="Matched">Attributes equal (numeric: within 10% of the range) to the medoid's.</param>
/// <param name="Differ">Attributes that differ from the medoid's.</param>
public sealed record Membership(string Key, string DomainId, string Explanation, string? Medoid = null,
    IReadOnlyList<string>? Matched = null, IReadOnlyList<string>? Differ = null);

/// <summary>Domains and each container's membership.</summary>
/// <param name="Silhouette">Mean silhouette of an environment-aware partition; NaN for tags or a single group.</param>
public sealed record Partition(IReadOnlyList<MonitoringDomain> Domains, IReadOnlyDictionary<string, Membership> Memberships, double Silhouette = double.NaN);

/// <summary>Splits containers into monitoring domains, by a tag or by their environment.</summary>
public static class DomainPartitioner
{
    /// <summary>The tag that names the owner workload.</summary>
    public const string OwnerTag = "owner";

    /// <summary>
    /// One domain per value of a tag, in one pass: <see cref="OwnerTag"/> (the owner workload) or
    /// "label:&lt;key&gt;" (a label the user names). Containers without the tag form the domain
    /// "&lt;tag&gt;:(none)" so none is dropped.
    /// </summary>
    public static Partition ByTag(IReadOnlyList<ContainerAttributes> containers, string tag = OwnerTag)
    {
        Func<ContainerAttributes, string?> read = TagReader(tag);
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var memberships = new Dictionary<string, Membership>(containers.Count, StringComparer.Ordinal);
        foreach (ContainerAttributes c in containers)
        {
            string? value = read(c);
            string id = $"{tag}:{value ?? "(none)"}";
            if (!groups.TryGetValue(id, out List<string>? members))
                groups[id] = members = new List<string>();
            members.Add(c.Key);
            memberships[c.Key] = new Membership(c.Key, id,
                value is null ? $"has no {tag}: grouped with the others that have none" : $"{tag} is {value}");
        }
        return new Partition(groups.Select(g => new MonitoringDomain(g.Key, g.Value)).ToArray(), memberships);
    }

    /// <summary>
    /// Environment-aware domains: k-medoids with Gower distance over the containers' attributes
    /// (mixed categorical and numeric), k chosen by silhouette up to <paramref name="maxK"/>.
    /// Each membership names the medoid and the attributes it shares with it.
    /// </summary>
    /// <param name="includeNode">Compare the node as well (by default replicas on different nodes share a domain).</param>
    /// <param name="previous">
    /// The partition of the previous round: a domain keeps the id of the previous domain that
    /// held most of its members (more than half), whichever container is its medoid now, so its
    /// models, labels and series stay attached to it. A new domain is named after its medoid.
    /// </param>
    /// <param name="includeMutableLimits">Cluster on CPU quota, cpuset and memory limit too (see <see cref="AttributeTable"/>).</param>
    public static Partition ByEnvironment(IReadOnlyList<ContainerAttributes> containers, int maxK = 10, int seed = 1, bool includeNode = false,
        Partition? previous = null, bool includeMutableLimits = false)
    {
        if (containers.Count == 0)
            return new Partition([], new Dictionary<string, Membership>());
        var table = new AttributeTable(containers, includeNode, includeMutableLimits);
        Clustering clustering = KMedoids.ChooseK(table.Count, table.Distance, maxK, seed);
        var domains = new List<string>[clustering.K];
        var memberships = new Dictionary<string, Membership>(containers.Count, StringComparer.Ordinal);
        for (int c = 0; c < clustering.K; c++)
            domains[c] = new List<string>();
        string[] ids = StableIds(containers, clustering, previous);
        for (int i = 0; i < table.Count; i++)
        {
            int cluster = clustering.Assignment[i];
            int medoid = clustering.Medoids[cluster];
            string medoidKey = containers[medoid].Key;
            string id = ids[cluster];
            domains[cluster].Add(containers[i].Key);
            (IReadOnlyList<string> matched, IReadOnlyList<string> differ) = table.Describe(i, medoid);
            string why = i == medoid
                ? $"medoid of its domain ({matched.Count} attributes known)"
                : $"nearest medoid {medoidKey} (Gower distance {table.Distance(i, medoid):0.###}); same {string.Join(", ", matched)}"
                  + (differ.Count > 0 ? $"; differs in {string.Join(", ", differ)}" : "");
            memberships[containers[i].Key] = new Membership(containers[i].Key, id, why, medoidKey, matched, differ);
        }
        return new Partition(domains.Select((m, c) => new MonitoringDomain(ids[c], m)).ToArray(), memberships, clustering.Silhouette);
    }

    /// <summary>Each cluster's id: the previous domain holding most of its members when that is more than half of them and not taken by a larger cluster, else "env:" and its medoid.</summary>
    private static string[] StableIds(IReadOnlyList<ContainerAttributes> containers, Clustering clustering, Partition? previous)
    {
        var ids = new string[clustering.K];
        var taken = new HashSet<string>(StringComparer.Ordinal);
        IEnumerable<int> bySize = Enumerable.Range(0, clustering.K).OrderByDescending(c => clustering.Assignment.Count(a => a == c)).ThenBy(c => c);
        foreach (int c in bySize)
        {
            string[] members = Enumerable.Range(0, containers.Count).Where(i => clustering.Assignment[i] == c).Select(i => containers[i].Key).ToArray();
            var inherited = previous is null ? null : members
                .Select(k => previous.Memberships.TryGetValue(k, out Membership? m) ? m.DomainId : null)
                .Where(id => id is not null && !taken.Contains(id))
                .GroupBy(id => id!).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).FirstOrDefault();
            string id = inherited is not null && 2 * inherited.Count() > members.Length ? inherited.Key : "env:" + containers[clustering.Medoids[c]].Key;
            if (!taken.Add(id))
                id = "env:" + containers[clustering.Medoids[c]].Key + "#" + c; // a medoid named after a domain another cluster kept
            taken.Add(id);
            ids[c] = id;
        }
        return ids;
    }

    /// <summary>Whether <paramref name="tag"/> names an attribute to group by (owner, image, runtime, qos, node or label:KEY).</summary>
    public static bool IsTag(string tag) => TagReaderOrNull(tag) is not null;

    private static Func<ContainerAttributes, string?> TagReader(string tag) =>
        TagReaderOrNull(tag) ?? throw new ArgumentException($"unknown tag '{tag}': expected owner, image, runtime, qos, node or label:<key>", nameof(tag));

    private static Func<ContainerAttributes, string?>? TagReaderOrNull(string tag)
    {
        if (tag == OwnerTag)
            return c => c.Owner;
        if (tag.StartsWith("label:", StringComparison.Ordinal) && tag.Length > "label:".Length)
        {
            string key = tag["label:".Length..];
            return c => c.Labels.TryGetValue(key, out string? v) ? v : null;
        }
        return tag switch
        {
            "image" => c => c.Image,
            "runtime" => c => c.Runtime,
            "qos" => c => c.QosClass,
            "node" => c => c.Node,
            _ => null,
        };
    }
}
