using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Runtime;

public class RecurrentStateTests
{
    /// <summary>
    /// A recurrent policy whose one-float state counts the steps since its episode started (uniform logits): enough to
    /// see what the actor does with per-env state. Training calls are not part of what these tests drive.
    /// </summary>
    private sealed class StepCountingNetwork : IActorCriticNetwork
    {
        public NetworkSpec Spec { get; } = new(4, [1], Activation.Tanh, new CategoricalHead(2)) { LstmSize = 1, Backend = NetworkBackend.Torch };
        public NetworkBackend Backend => NetworkBackend.Torch;
        public ParameterBuffer Parameters { get; } = new([("w", [1])]);
        public int PolicyOutputSize => 2;
        public int CoreStateSize => 1;
        public void Forward(ReadOnlySpan<float> observations, int steps, int columns, ReadOnlySpan<float> initialCoreState,
            ReadOnlySpan<bool> episodeStarts, Span<float> policyOutputs, Span<float> values) => throw new NotSupportedException();
        public void Backward(ReadOnlySpan<float> dPolicyOutputs, ReadOnlySpan<float> dValues) => throw new NotSupportedException();
        public IActorCriticNetwork Clone() => new StepCountingNetwork();
        public IInferenceSession CreateInferenceSession() => new Session(this);

        private sealed class Session(IActorCriticNetwork network) : IInferenceSession
        {
            public IActorCriticNetwork Network => network;
            public void Evaluate(ReadOnlySpan<float> observations, int batch, Span<float> coreState, Span<float> policyOutputs, Span<float> values)
            {
                policyOutputs[..(2 * batch)].Clear();
                values[..batch].Clear();
                for (int i = 0; i < batch; i++) coreState[i] += 1;
            }
        }
    }

    [Fact]
    public void TheActorCarriesEachEnvsStateAcrossUnrollsAndZeroesItWhenAnEpisodeStarts()
    {
        var actor = new Actor("a", new VectorEnv("CartPole-v1", 3), new StepCountingNetwork(), 16, 5);
        var first = actor.Unroll();
        Assert.Equal(1, first.CoreStateSize);
        Assert.Equal(new float[3], first.InitialCoreState);
        for (int u = 0; u < 6; u++)
        {
            var previous = u == 0 ? first : actor.Unroll();
            var next = actor.Unroll();
            var starts = new bool[(previous.Steps + 1) * previous.Envs];
            previous.EpisodeStarts(starts);
            for (int b = 0; b < previous.Envs; b++)
            {
                // Replay the column: +1 per step, zero before every episode start; it must end where the actor's core is.
                float state = previous.InitialCoreState[b];
                for (int t = 0; t < previous.Steps; t++)
                {
                    if (starts[t * previous.Envs + b]) state = 0;
                    state += 1;
                }
                if (starts[previous.Steps * previous.Envs + b]) state = 0;
                Assert.Equal(state, next.InitialCoreState[b]);
            }
        }
    }

    /// <summary>A recurrent network that records what the learner's training forward pass hands it (zero outputs).</summary>
    private sealed class RecordingRecurrentNetwork : IActorCriticNetwork
    {
        public NetworkSpec Spec { get; } = new(1, [1], Activation.Tanh, new CategoricalHead(2)) { LstmSize = 1, Backend = NetworkBackend.Torch };
        public NetworkBackend Backend => NetworkBackend.Torch;
        public ParameterBuffer Parameters { get; } = new([("w", [1])]);
        public int PolicyOutputSize => 2;
        public int CoreStateSize => 2;
        public (int Steps, int Columns, float[] State, bool[] Starts)? Seen { get; private set; }
        public void Forward(ReadOnlySpan<float> observations, int steps, int columns, ReadOnlySpan<float> initialCoreState,
            ReadOnlySpan<bool> episodeStarts, Span<float> policyOutputs, Span<float> values)
        {
            Seen = (steps, columns, initialCoreState.ToArray(), episodeStarts.ToArray());
            policyOutputs[..(steps * columns * 2)].Clear();
            values[..(steps * columns)].Clear();
        }
        public void Backward(ReadOnlySpan<float> dPolicyOutputs, ReadOnlySpan<float> dValues) { }
        public IActorCriticNetwork Clone() => new RecordingRecurrentNetwork();
        public IInferenceSession CreateInferenceSession() => throw new NotSupportedException();
    }

    [Fact]
    public void ImpalaReplaysARecurrentBatchFromItsInitialStateWithResetsAtEpisodeStarts()
    {
        var net = new RecordingRecurrentNetwork();
        var learner = new ImpalaLearner(net, new RmsProp(net.Parameters, 1e-3f), new ImpalaOptions(), 40f);
        var batch = new Trajectory(2, 2, 1, 1, 2, coreStateSize: 2);
        Array.Fill(batch.Valid, true);
        batch.Valid[0 * 2 + 1] = false; // column 1's step 0 is an autoreset step: its row 1 starts an episode
        float[] state = [0.1f, 0.2f, 0.3f, 0.4f];
        state.CopyTo(batch.InitialCoreState, 0);
        learner.Update(batch);

        var (steps, columns, seenState, starts) = net.Seen!.Value;
        Assert.Equal((3, 2), (steps, columns));
        Assert.Equal(state, seenState);
        Assert.Equal(new[] { false, false, false, true, false, false }, starts);

        var feedForwardBatch = new Trajectory(2, 2, 1, 1, 2);
        Assert.Throws<ArgumentException>(() => learner.Update(feedForwardBatch));
    }

    [Fact]
    public void EpisodeStartsFollowAutoresetStepsAndRowZeroNeverResets()
    {
        var t = new Trajectory(3, 2, 1, 1, 2);
        Array.Fill(t.Valid, true);
        t.Valid[1 * 2 + 0] = false; // step 1 of column 0 is an autoreset step: row 2 of column 0 starts an episode
        t.Valid[2 * 2 + 1] = false; // step 2 of column 1: row 3 of column 1
        var starts = new bool[8];
        t.EpisodeStarts(starts);
        Assert.Equal(new[] { false, false, false, false, true, false, false, true }, starts);
    }

    [Fact]
    public void ConcatenationPlacesEachUnrollsInitialStateInItsColumns()
    {
        var a = new Trajectory(2, 1, 1, 1, 2, coreStateSize: 2);
        var b = new Trajectory(2, 2, 1, 1, 2, coreStateSize: 2);
        a.InitialCoreState[0] = 1; a.InitialCoreState[1] = 2;
        b.InitialCoreState[0] = 3; b.InitialCoreState[1] = 4; b.InitialCoreState[2] = 5; b.InitialCoreState[3] = 6;
        var batch = Trajectory.Concatenate([a, b]);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, batch.InitialCoreState);
        Assert.Throws<ArgumentException>(() => Trajectory.Concatenate([a, new Trajectory(2, 1, 1, 1, 2)]));
    }

    [Fact]
    public void FeedForwardUnrollsCarryNoState()
    {
        var actor = new Actor("a", new VectorEnv("CartPole-v1", 2), ActorCriticNet.Create(new NetworkSpec(4, [8], Activation.Tanh, new CategoricalHead(2)), 1), 4, 1);
        var unroll = actor.Unroll();
        Assert.Equal(0, unroll.CoreStateSize);
        Assert.Empty(unroll.InitialCoreState);
    }
}
