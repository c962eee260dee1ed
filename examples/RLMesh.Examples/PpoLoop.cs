using RLMesh.Core;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;

namespace RLMesh.Examples;

/// <summary>
/// A user's own PPO training loop, CleanRL-style, written against <see cref="IVectorEnv"/> only: collect T steps
/// from every sub-env, update, repeat. It runs unchanged on a local <see cref="VectorEnv"/> and on RLMesh.Remote's
/// RemoteVectorEnv (sub-envs in runner processes) - the README shows both. Uses Core's PPO learner with the
/// documented CartPole defaults (docs/algorithms.md).
/// </summary>
public static class PpoLoop
{
    public sealed record Result(bool Solved, long Frames, double? MeanReturn, long Updates, int Episodes);

    public static Result Train(IVectorEnv env, ulong seed, long maxFrames, double targetReturn, int stepsPerUpdate = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(env);
        var options = TrainingOptions.ForEnvironment(env.Id, AlgorithmDefaults.Ppo) with { Seed = seed };
        var spec = PolicyFactory.SpecFor(env.SingleObservationSpace, env.SingleActionSpace, options.Hidden, options.Activation, options.InitialLogStd, options.ScaleObservations);
        var net = ActorCriticNet.Create(spec, seed);
        var learner = AlgorithmDefaults.CreateLearner(options, net, EmbeddedTrainer.CreateOptimizer(net, options));
        var policy = net.CreateInferenceSession();

        int n = env.NumEnvs, obsSize = env.ObservationSize, actSize = env.ActionSize, p = net.PolicyOutputSize;
        bool discrete = env.SingleActionSpace is Discrete;
        var obs = new float[n * obsSize];
        var outputs = new float[n * p];
        var values = new float[n];
        var actions = new float[n * actSize];
        var rewards = new float[n];
        var terminated = new bool[n];
        var truncated = new bool[n];
        var autoreset = new bool[n];
        var finished = new List<EpisodeStats>();
        var window = new ReturnWindow(100);
        var rng = new Rng(seed ^ 0x5eed);
        long frames = 0;
        int episodes = 0;

        env.Reset(seed, obs);
        while (frames < maxFrames && !cancellationToken.IsCancellationRequested)
        {
            var batch = new Trajectory(stepsPerUpdate, n, obsSize, actSize, p) { PolicyVersion = learner.Version };
            for (int t = 0; t < stepsPerUpdate; t++)
            {
                obs.CopyTo(batch.Observations, t * n * obsSize);
                policy.Evaluate(obs, n, outputs, values);
                for (int i = 0; i < n; i++)
                {
                    var row = outputs.AsSpan(i * p, p);
                    if (discrete) actions[i] = Categorical.Sample(row, ref rng);
                    else DiagonalGaussian.Sample(row[..actSize], row[actSize..], ref rng, actions.AsSpan(i * actSize, actSize));
                }
                outputs.CopyTo(batch.BehaviourPolicy, t * n * p);
                actions.CopyTo(batch.Actions, t * n * actSize);

                env.Step(actions, obs, rewards, terminated, truncated, autoreset);

                rewards.CopyTo(batch.Rewards, t * n);
                terminated.CopyTo(batch.Terminated, t * n);
                truncated.CopyTo(batch.Truncated, t * n);
                for (int i = 0; i < n; i++) batch.Valid[t * n + i] = !autoreset[i];
            }
            obs.CopyTo(batch.Observations, stepsPerUpdate * n * obsSize);

            finished.Clear();
            env.DrainEpisodes(finished);
            foreach (var e in finished) window.Add(e.Return);
            episodes += finished.Count;

            if (options.AnnealLearningRate)
                learner.Optimizer.LearningRate = options.LearningRate * (float)Math.Max(0.0, 1.0 - (double)frames / options.MaxFrames);
            learner.Update(batch);
            frames += batch.Frames;
            if (window.IsFull && window.Mean >= targetReturn)
                return new Result(true, frames, window.Mean, learner.Version, episodes);
        }
        return new Result(false, frames, window.Mean, learner.Version, episodes);
    }
}
