using System.Text.Json.Serialization;

namespace AIOps.Trace.Contracts;

/// <summary>
/// Source-generated serialization of the documents the CLI and the HTTP API share (no
/// reflection, NativeAOT-safe): snake_case names, as <c>AIOps.Trace.Server.Api.ApiJson</c> uses.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(SnapshotDocument))]
[JsonSerializable(typeof(DoctorDocument))]
[JsonSerializable(typeof(DiagnoseDocument))]
[JsonSerializable(typeof(DiagnosisDocument))]
[JsonSerializable(typeof(CpuEvidenceDocument))]
public sealed partial class TraceJson : JsonSerializerContext;
