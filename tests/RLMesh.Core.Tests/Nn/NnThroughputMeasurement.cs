using RLMesh.Core.Nn;
using Xunit;
using Xunit.Abstractions;

namespace RLMesh.Core.Tests.Nn;

/// <summary>
/// Hand-run measurement, never a timing assertion. It does nothing unless RLMESH_MEASURE=1:
/// <c>RLMESH_MEASURE=1 dotnet test tests/RLMesh.Core.Tests -c Release --filter "FullyQualifiedName~NnThroughputMeasurement" --logger "console;verbosity=detailed"</c>
/// </summary>
public class NnThroughputMeasurement(ITestOutputHelper output)
{
    [Fact]
    public void Prints_inference_and_learner_timings_when_asked_to()
    {
        if (Environment.GetEnvironmentVariable("RLMESH_MEASURE") != "1") return;
        output.WriteLine($"Gemm accelerated (AVX2+FMA): {Gemm.IsAccelerated}");
        output.WriteLine($"Evaluate 4-64-64 categorical(2), batch 1:  {NnThroughput.EvaluateMicroseconds(1):F3} us/call");
        output.WriteLine($"Evaluate 4-64-64 categorical(2), batch 64: {NnThroughput.EvaluateMicroseconds(64, 5_000):F3} us/call");
        output.WriteLine($"Forward+Backward, 2560 rows:              {NnThroughput.ForwardBackwardMilliseconds():F3} ms");
        output.WriteLine($"Learner update (F+B+clip+RmsProp), 2560:  {NnThroughput.LearnerUpdateMilliseconds():F3} ms");
    }
}
